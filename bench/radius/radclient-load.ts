import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RADCLIENT = '/usr/bin/radclient';

const running = new Set<ChildProcess>();
let stopped = false;

/** Kills every radclient still running (and the shell around it) and starts no more: the bench is failing. */
export function stopRadclients(): void {
  stopped = true;
  for (const child of running) killGroup(child);
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** One radclient request file: blank-line separated attribute lists (radclient(1), `-f`). */
export interface RequestFile {
  path: string;
  requests: number;
}

/**
 * Writes `count` requests as files of at most `perFile` each. radclient walks its whole
 * list of packets between two sends, so its cost grows with the square of a file's length:
 * a few thousand per file keeps it linear.
 */
export function writeRequestFiles(dir: string, name: string, count: number, perFile: number, request: (n: number) => string[]): RequestFile[] {
  const files: RequestFile[] = [];
  for (let first = 0; first < count; first += perFile) {
    const n = Math.min(perFile, count - first);
    const lists: string[] = [];
    for (let k = first; k < first + n; k++) lists.push(request(k).join('\n') + '\n');
    const path = join(dir, `${name}-${String(files.length).padStart(3, '0')}.txt`);
    writeFileSync(path, lists.join('\n'));
    files.push({ path, requests: n });
  }
  return files;
}

export interface LoadOptions {
  /** "127.0.0.1:PORT" */
  server: string;
  command: 'auth' | 'acct';
  secret: string;
  files: RequestFile[];
  /** radclient processes running at once, each taking the next file when it is done. */
  processes: number;
  /** radclient -p: requests each process keeps outstanding. */
  parallel: number;
  /** No new file is started after this many seconds (the run is bounded in time). */
  deadlineSeconds: number;
}

export interface LoadResult {
  /** Requests in the files that were run. */
  requests: number;
  seconds: number;
  accepted: number;
  rejected: number;
  lost: number;
  /** radclient's own CPU (user + system), summed over its processes. */
  clientCpuSeconds: number;
  /** Files left unsent at the deadline. */
  skippedFiles: number;
  failures: string[];
}

/**
 * Sends the files through radclient (`-q -s -r 1 -t 5 -p N`) and times the whole run, from
 * the first process started to the last one finished. Every answer radclient counts was
 * verified by it against the shared secret (Response Authenticator), so "accepted" means
 * a real Access-Accept or Accounting-Response.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { requests: 0, seconds: 0, accepted: 0, rejected: 0, lost: 0, clientCpuSeconds: 0, skippedFiles: 0, failures: [] };
  const queue = [...o.files];
  const began = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - began) / 1e9;
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file && !stopped; file = queue.shift()) {
      if (elapsed() > o.deadlineSeconds) {
        result.skippedFiles += 1 + queue.length;
        queue.length = 0;
        return;
      }
      const r = await radclient(o, file);
      result.requests += file.requests;
      result.accepted += r.accepted;
      result.rejected += r.rejected;
      result.lost += r.lost;
      result.clientCpuSeconds += r.cpuSeconds;
      if (r.failure) result.failures.push(r.failure);
    }
  };
  await Promise.all(Array.from({ length: o.processes }, worker));
  result.seconds = elapsed();
  return result;
}

interface OneRun {
  accepted: number;
  rejected: number;
  lost: number;
  cpuSeconds: number;
  failure: string | null;
}

// The shell's `times` prints the CPU its children used, so radclient's cost is known
// without /usr/bin/time; its exit status is passed on.
const WRAPPER = '"$0" "$@"; status=$?; times >&2; exit $status';

function radclient(o: LoadOptions, file: RequestFile): Promise<OneRun> {
  const args = ['-q', '-s', '-r', '1', '-t', '5', '-p', String(o.parallel), '-f', file.path, o.server, o.command, o.secret];
  return new Promise((resolve, reject) => {
    // A process group of its own, so that a kill reaches radclient and not only the shell.
    const child = spawn('sh', ['-c', WRAPPER, RADCLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // radclient gives up on a request after -t 5 × (-r 1); a file still running after 30 s
    // is stuck (seen with -p close to 256, radclient's Identifiers per socket).
    const guard = setTimeout(() => killGroup(child), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      running.delete(child);
      const count = (label: string): number => Number(new RegExp(`${label}\\s*:\\s*(\\d+)`).exec(out)?.[1] ?? 0);
      // `times` prints two lines, the shell's and then its children's: "0m0.120s 0m0.030s".
      const children = err.trim().split('\n').at(-1)?.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
      const cpuSeconds = children ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]) : 0;
      const messages = err.split('\n').filter((line) => line !== '' && !/^\d+m[\d.]+s/.test(line));
      const failure = code === 0 ? null : `radclient exited ${code} on ${file.path}${messages.length ? `: ${messages.slice(0, 3).join(' | ')}` : ''}`;
      resolve({ accepted: count('Accepted'), rejected: count('Rejected'), lost: count('Lost'), cpuSeconds, failure });
    });
  });
}
