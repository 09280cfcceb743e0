/** Installs (as root) the Debian package of each missing command; returns those still missing. */
export function ensureDebianPeers(peers: Record<string, string>, options?: { log?: (line: string) => void }): string[];
/** Whether the command is installed (on PATH, /usr/sbin or /sbin). */
export function haveCommand(name: string): boolean;
