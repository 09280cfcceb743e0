import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KAMAILIO = '/usr/sbin/kamailio';
export const haveKamailio = spawnSync(KAMAILIO, ['-v'], { stdio: 'ignore' }).status === 0;
export const kamailioMissing = 'kamailio missing (apt-get install kamailio)';

export interface KamailioLine {
  readonly username: string;
  readonly password: string;
  readonly numbers: readonly string[];
}

export interface RunningKamailio {
  readonly host: string;
  readonly port: number;
  /** `sip:HOST:PORT`, for UDP; add `;transport=tcp` for TCP. */
  readonly uri: string;
  /** What kamailio wrote on stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on `host` (kamailio listens on both). */
async function freePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port');
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, '')}"`;

/**
 * A registrar and record-routing proxy in kamailio's script language, the way Sideband's
 * built-in exchange behaves: REGISTER and initial INVITE are Digest-authenticated against
 * plain-text passwords in the script (auth module, pv_*_authenticate), the number
 * registered (To user) or called from (From user) must be one of the line's numbers or the
 * request is refused 403, the INVITE gets a P-Asserted-Identity with the caller's number,
 * and the callee is found in usrloc (db_mode 0: memory only) or refused 404.
 */
export function kamailioConfig(host: string, port: number, lines: readonly KamailioLine[]): string {
  const password = lines.map((l) => `    if ($au == ${quote(l.username)}) { $var(pw) = ${quote(l.password)}; }`).join('\n');
  const owns = lines.flatMap((l) => l.numbers.map((n) => `    if ($au == ${quote(l.username)} && $var(number) == ${quote(n)}) { $var(owns) = 1; }`)).join('\n');
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:${host}:${port}
listen=tcp:${host}:${port}
alias="${host}:${port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
loadmodule "xlog.so"

modparam("usrloc", "db_mode", 0)
modparam("rr", "enable_full_lr", 0)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }

  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not Here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  t_check_trans();

  if (is_method("OPTIONS") && uri == myself && $rU == $null) { sl_send_reply("200", "Keepalive"); exit; }

  if (is_method("REGISTER")) {
    route(PASSWORD);
    if ($var(pw) == "" || !pv_www_authenticate("$td", "$var(pw)", "0")) { www_challenge("$td", "1"); exit; }
    $var(number) = $tU;
    route(OWNS);
    if ($var(owns) != 1) { sl_send_reply("403", "Not Your Number"); exit; }
    consume_credentials();
    if (!save("location")) { sl_reply_error(); }
    exit;
  }

  if (is_method("INVITE")) {
    route(PASSWORD);
    if ($var(pw) == "" || !pv_proxy_authenticate("$fd", "$var(pw)", "0")) { proxy_challenge("$fd", "1"); exit; }
    $var(number) = $fU;
    route(OWNS);
    if ($var(owns) != 1) { sl_send_reply("403", "Not Your Number"); exit; }
    consume_credentials();
    remove_hf("P-Asserted-Identity");
    append_hf("P-Asserted-Identity: <sip:$fU@$fd>\\r\\n");
    record_route();
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    if (!t_relay()) { sl_reply_error(); }
    exit;
  }

  sl_send_reply("405", "Method Not Allowed");
}

route[PASSWORD] {
  # An unknown or absent username leaves the password empty, which is challenged, never matched.
  $var(pw) = "";
${password}
}

route[OWNS] {
  $var(owns) = 0;
${owns}
}
`;
}

/**
 * Starts kamailio in the foreground (-DD, logging to stderr with -E) on a free loopback
 * port with kamailioConfig, its runtime dir (-Y) and pid file (-P) in a temp dir, and
 * waits until it answers an OPTIONS over UDP and accepts TCP. stop() kills its process
 * group (kamailio forks workers) and removes the temp dir.
 */
export async function startKamailio(lines: readonly KamailioLine[], name = 'kamailio', host = '127.0.0.1'): Promise<RunningKamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-kamailio-'));
  const port = await freePort(host);
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, kamailioConfig(host, port, lines));
  const child: ChildProcess = spawn(KAMAILIO, ['-f', cfg, '-DD', '-E', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-m', '64', '-M', '8', '-w', dir], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const logFile = process.env.SIDEBAND_TEST_LOG_DIR ? createWriteStream(join(process.env.SIDEBAND_TEST_LOG_DIR, `${name}-${process.pid}.log`), { flags: 'a' }) : null;
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-200_000);
    logFile?.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  // Should the test process die without running its after-hooks, kamailio must not outlive it.
  const killOnExit = () => {
    if (dead || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', killOnExit);
  void exited.then(() => {
    dead = true;
    process.off('exit', killOnExit);
  });

  const stop = async () => {
    if (!dead && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 3000);
      await exited;
      clearTimeout(killer);
    }
    logFile?.end();
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 5000;
  while (!(await answersOptions(host, port))) {
    if (dead || Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not start:\n${log.slice(-3000)}`);
    }
  }
  return { host, port, uri: `sip:${host}:${port}`, log: () => log, stop };
}

function answersOptions(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 100);
    socket.once('message', () => done(true));
    socket.once('error', () => done(false));
    socket.bind(0, host, () => {
      const { port: local } = socket.address();
      const probe = [
        `OPTIONS sip:${host}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${host}:${local};branch=z9hG4bKprobe${Date.now()}`,
        'Max-Forwards: 70',
        `From: <sip:probe@${host}>;tag=probe`,
        `To: <sip:${host}:${port}>`,
        `Call-ID: probe-${Date.now()}@${host}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(probe, port, host);
    });
  });
}
