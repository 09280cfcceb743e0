import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand } from '../../scripts/debian-peers.js';

/** A UDP port on 127.0.0.1 nobody uses right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export const haveSipp = haveCommand('sipp');
export const sippMissing = 'sipp missing (apt-get install sip-tester)';

export interface SippOptions {
  /** The scenario XML (sipp -sf). */
  readonly scenario: string;
  /** host:port of the peer, for a scenario that starts by sending; absent for a UAS scenario. */
  readonly remote?: string;
  /** Our own port (sipp -p); a free one unless given (sipp's own default is 5060). */
  readonly localPort?: number;
  /** Generic keywords, [name] in the scenario (sipp -key name value). */
  readonly keys?: Readonly<Record<string, string>>;
  /**
   * Digest credentials for [authentication] (sipp -au / -ap). sipp answers with the digest
   * uri `sip:remote_ip:remote_port` unless `uri` is given (-auth_uri); a server that checks
   * it against the Request-URI (RFC 2617 §3.2.2.5) needs the Request-URI here, without the
   * "sip:" that sipp puts in front of it.
   */
  readonly auth?: { readonly username: string; readonly password: string; readonly uri?: string };
  /** Global timeout in seconds (sipp -timeout, with -timeout_error); 10 unless given. */
  readonly timeoutSeconds?: number;
  /** Signalling over one UDP socket (-t u1, the default) or one TCP connection (-t t1). */
  readonly transport?: 'udp' | 'tcp';
}

export interface SippRun {
  /** 0: every call succeeded; 1: at least one failed; others: sipp's fatal codes. */
  readonly exitCode: number | null;
  /** stdout and stderr, then the -trace_err error log and the -trace_msg message log. */
  readonly output: string;
}

export interface RunningSipp {
  readonly done: Promise<SippRun>;
  stop(): Promise<void>;
}

/**
 * Runs sipp once (-m 1) with a scenario written to a temp dir, bounded by -timeout, on
 * UDP (-t u1, or TCP -t t1) from 127.0.0.1, tracing unexpected messages (-trace_err) and every message
 * (-trace_msg) into files whose text comes back in `output`. stop() kills it if it is
 * still running and removes the temp dir.
 */
export async function startSipp(options: SippOptions): Promise<RunningSipp> {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-sipp-'));
  const scenario = join(dir, 'scenario.xml');
  writeFileSync(scenario, options.scenario);
  const args = [
    ...(options.remote ? [options.remote] : []),
    '-sf', scenario,
    '-m', '1',
    '-t', options.transport === 'tcp' ? 't1' : 'u1',
    '-i', '127.0.0.1',
    '-p', String(options.localPort ?? (await freeUdpPort())),
    '-timeout', `${options.timeoutSeconds ?? 10}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    ...(options.auth ? ['-au', options.auth.username, '-ap', options.auth.password, ...(options.auth.uri ? ['-auth_uri', options.auth.uri] : [])] : []),
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  let running = true;
  const killOnExit = () => {
    if (running) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const done = new Promise<SippRun>((resolve) => {
    child.once('close', (exitCode) => {
      running = false;
      process.off('exit', killOnExit);
      const logs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-20_000)}`) : [];
      resolve({ exitCode, output: [output, ...logs].join('\n') });
    });
  });
  return {
    done,
    async stop() {
      if (running) child.kill('SIGTERM');
      const timer = setTimeout(() => running && child.kill('SIGKILL'), 2000);
      await done;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a scenario to its end and returns how it went. */
export async function runSipp(options: SippOptions): Promise<SippRun> {
  const sipp = await startSipp(options);
  const run = await sipp.done;
  await sipp.stop();
  return run;
}
