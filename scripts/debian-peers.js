// The real programs the tests and benchmarks run beside Sideband (radclient, softflowd,
// FreeRADIUS, nfacctd …) come from Debian's packages. When one is missing and we are
// root, it is installed with apt-get; otherwise the caller learns which are missing and
// says what it skips. Shared by the README's test line and every bench under bench/.
import { execFileSync, spawnSync } from 'node:child_process';

/** Whether `name` runs here; /usr/sbin is not on every PATH (kamailio, freeradius and nfacctd live there). */
export const haveCommand = (name) => spawnSync('sh', ['-c', `PATH=$PATH:/usr/sbin:/sbin command -v ${name}`], { stdio: 'ignore' }).status === 0;

/**
 * Makes sure each command is present, installing the Debian package that provides it
 * when it is not (as root). `peers` maps a command name to its package. Returns the
 * commands still missing afterwards (not root, or the install failed); the caller says
 * what it skips for them.
 */
export function ensureDebianPeers(peers, { log = (line) => console.log(line) } = {}) {
  const absent = Object.keys(peers).filter((command) => !haveCommand(command));
  const packages = [...new Set(absent.map((command) => peers[command]))];
  if (packages.length > 0 && process.getuid?.() === 0) {
    log(`# installing ${packages.join(', ')} (Debian packages) for ${absent.join(', ')}`);
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
      execFileSync('apt-get', ['install', '-y', '-q', ...packages], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch (e) {
      log(`# apt-get failed: ${e.message}`);
    }
  }
  return absent.filter((command) => !haveCommand(command));
}
