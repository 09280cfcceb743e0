import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's freeradius package keeps the configuration the bench starts from. */
export const SYSTEM_RADDB = '/etc/freeradius/3.0';

/**
 * SO_RCVBUF for both listeners, as Sideband asks for its own (radius-server.ts); the kernel
 * caps both at net.core.rmem_max. With the default (rmem_default) a burst of a few hundred
 * requests overflows the socket and radclient waits out its timeout.
 */
export const RECEIVE_BUFFER = 8 * 1024 * 1024;

export interface FreeradiusConfig {
  /** The temporary directory holding raddb/, log/ and run/. */
  dir: string;
  raddb: string;
  authPort: number;
  acctPort: number;
  secret: string;
  /** Login and Cleartext-Password of every subscriber, for the `files` module. */
  users: Array<[login: string, password: string]>;
}

/**
 * Copies Debian's FreeRADIUS configuration under `dir` and changes only what the bench
 * needs, so that the server measured is the stock `default` site:
 *
 * - radiusd.conf: every path (raddbdir, logdir, run_dir) under `dir`; no `user`/`group`
 *   (it stays the user that started it, who owns `dir`); the log to a file, no colour.
 * - clients.conf: one client, 127.0.0.1, with the bench's secret and
 *   require_message_authenticator = yes (Sideband requires it too).
 * - sites-enabled/default: its four `listen` sections (auth and acct on every IPv4 and
 *   IPv6 address) replaced by two on 127.0.0.1 and the given ports.
 * - sites-enabled/inner-tunnel: its `listen` section (127.0.0.1:18120) removed; the site
 *   stays because the eap module names it.
 * - mods-config/files/authorize: only the bench's users, `login Cleartext-Password := "…"`.
 */
export function writeFreeradiusConfig(c: FreeradiusConfig): void {
  cpSync(SYSTEM_RADDB, c.raddb, { recursive: true, verbatimSymlinks: true });
  for (const sub of ['log', 'log/radacct', 'run']) mkdirSync(join(c.dir, sub), { recursive: true });

  edit(join(c.raddb, 'radiusd.conf'), (text) =>
    text
      .replace(/^raddbdir = .*$/m, `raddbdir = ${c.raddb}`)
      .replace(/^logdir = .*$/m, `logdir = ${join(c.dir, 'log')}`)
      .replace(/^run_dir = .*$/m, `run_dir = ${join(c.dir, 'run')}`)
      .replace(/^\s*(user|group) = .*$/gm, '')
      .replace(/^(\s*)colourise = yes/m, '$1colourise = no'),
  );

  writeFileSync(
    join(c.raddb, 'clients.conf'),
    `client bench {\n\tipaddr = 127.0.0.1\n\tsecret = ${c.secret}\n\trequire_message_authenticator = yes\n\tnas_type = other\n}\n`,
  );

  const listen = (type: 'auth' | 'acct', port: number): string => `listen {\n\ttype = ${type}\n\tipaddr = 127.0.0.1\n\tport = ${port}\n\trecv_buff = ${RECEIVE_BUFFER}\n}\n`;
  // Debian ships sites-enabled/* as symlinks into sites-available/: write files instead.
  const site = (name: string, extra: string): void => {
    const path = join(c.raddb, 'sites-enabled', name);
    const text = withoutListenSections(readFileSync(join(c.raddb, 'sites-available', name), 'utf8'));
    rmSync(path);
    writeFileSync(path, text.replace(/^server \S+ \{\n/m, (open) => open + extra));
  };
  site('default', listen('auth', c.authPort) + listen('acct', c.acctPort));
  site('inner-tunnel', '');

  writeFileSync(join(c.raddb, 'mods-config', 'files', 'authorize'), c.users.map(([login, password]) => `${login} Cleartext-Password := "${password}"\n`).join(''));
}

function edit(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

/**
 * The site's text without its `listen { … }` sections: comments are dropped first (they
 * hold braces and commented-out listen sections), then each section is cut out by counting
 * braces, as FreeRADIUS's own parser nests them.
 */
export function withoutListenSections(site: string): string {
  const lines = site.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '')).filter((line) => line.trim() !== '');
  const kept: string[] = [];
  let inside = false;
  let depth = 0;
  for (const line of lines) {
    if (!inside && /^\s*listen\s*\{/.test(line)) inside = true;
    if (!inside) {
      kept.push(line);
      continue;
    }
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    if (depth === 0) inside = false;
  }
  return kept.join('\n') + '\n';
}
