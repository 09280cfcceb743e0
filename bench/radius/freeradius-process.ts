import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET, login, password } from './bench-data.ts';
import { writeFreeradiusConfig } from './freeradius-config.ts';
import { RADCLIENT } from './radclient-load.ts';
import { ChildLines, exited, type ServerUnderTest } from './server-under-test.ts';

export const FREERADIUS = '/usr/sbin/freeradius';

/** A UDP port free on 127.0.0.1 now (the kernel's pick); FreeRADIUS binds it a moment later. */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

// The shell stays between the bench and FreeRADIUS as a watchdog: it prints the server's
// pid, then kills it when its stdin closes, which happens when the bench stops it and also
// when the bench dies without cleaning up.
const WATCHDOG = '"$0" -f -d "$1" & echo $!; read _; kill $! 2>/dev/null; wait';

/**
 * Writes a configuration under `dir` (see freeradius-config.ts), checks it with
 * `freeradius -C`, and runs `freeradius -f` (foreground, not debug) until stopped.
 */
export async function startFreeradius(dir: string, subscribers: number): Promise<ServerUnderTest> {
  const [authPort, acctPort] = [await freePort(), await freePort()];
  const raddb = join(dir, 'raddb');
  const users = Array.from({ length: subscribers }, (_, i): [string, string] => [login(i), password(i)]);
  writeFreeradiusConfig({ dir, raddb, authPort, acctPort, secret: SECRET, users });
  const log = join(dir, 'log', 'radius.log');
  const check = spawnSync(FREERADIUS, ['-C', '-d', raddb], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`freeradius -C rejected the bench's configuration:\n${tail(log)}${check.stderr}`);

  const child = spawn('sh', ['-c', WATCHDOG, FREERADIUS, raddb], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = new ChildLines(child, 'FreeRADIUS');
  const stop = async (): Promise<void> => {
    child.stdin.end();
    await exited(child, 10_000);
  };
  try {
    const pid = Number(await lines.next(5_000, 'starting'));
    await untilAnswering(`127.0.0.1:${authPort}`, log);
    return {
      name: 'FreeRADIUS',
      pid,
      auth: `127.0.0.1:${authPort}`,
      acct: `127.0.0.1:${acctPort}`,
      async records() {
        return { detailRecords: detailRecords(join(dir, 'log', 'radacct')) };
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Status-Server (RFC 5997) until it answers; FreeRADIUS takes under a second to load. */
async function untilAnswering(server: string, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const probe = spawnSync(RADCLIENT, ['-q', '-r', '1', '-t', '1', server, 'status', SECRET], { input: 'Message-Authenticator = 0x00\n', encoding: 'utf8', timeout: 5_000 });
    if (probe.status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`FreeRADIUS did not answer Status-Server on ${server}:\n${tail(log)}`);
}

/** Accounting records the detail module wrote: one `Acct-Status-Type` line each. */
function detailRecords(radacct: string): number {
  let n = 0;
  if (!existsSync(radacct)) return 0;
  for (const client of readdirSync(radacct)) {
    for (const file of readdirSync(join(radacct, client))) n += readFileSync(join(radacct, client, file), 'utf8').split('\n\tAcct-Status-Type = ').length - 1;
  }
  return n;
}

const tail = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-15).join('\n') + '\n' : '');
