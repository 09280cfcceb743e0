import type { ChildProcess } from 'node:child_process';

const TIMEOUT = Symbol('timeout');

/** A RADIUS server the bench started as a child process, listening on loopback only. */
export interface ServerUnderTest {
  name: string;
  /** The process doing the RADIUS work, for its CPU and memory. */
  pid: number;
  /** "127.0.0.1:PORT" */
  auth: string;
  acct: string;
  /** What the server recorded, as it tells it, for the report. */
  records(): Promise<Record<string, number>>;
  /** Ends the server; resolves when its process is gone. */
  stop(): Promise<void>;
}

/** Resolves when `child` has exited; SIGKILLs it (its group when it leads one) after `graceMs`. */
export function exited(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
  });
}

/**
 * The lines a child prints on stdout, one at a time; its stderr is kept (the last lines)
 * to tell why it failed.
 */
export class ChildLines {
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private partial = '';
  private stderr = '';
  private ended = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly what: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => {
      this.partial += d.toString();
      for (let end = this.partial.indexOf('\n'); end >= 0; end = this.partial.indexOf('\n')) {
        this.push(this.partial.slice(0, end));
        this.partial = this.partial.slice(end + 1);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.once('exit', () => {
      this.ended = true;
      this.waiting?.(null);
    });
  }

  /** The last lines the child wrote on stderr. */
  get errors(): string {
    return this.stderr.trim().split('\n').slice(-15).join('\n');
  }

  private push(line: string): void {
    if (this.waiting) this.waiting(line);
    else this.lines.push(line);
  }

  /** The next line, or an error naming the child when it exits or stays silent. */
  async next(timeoutMs: number, doing: string): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return ready;
    const line = this.ended
      ? null
      : await new Promise<string | null | typeof TIMEOUT>((resolve) => {
          const timer = setTimeout(() => resolve(TIMEOUT), timeoutMs);
          this.waiting = (l) => {
            clearTimeout(timer);
            resolve(l);
          };
        });
    this.waiting = null;
    if (typeof line === 'string') return line;
    const why = line === TIMEOUT ? `did not answer within ${timeoutMs / 1000} s while ${doing}` : `exited (${this.child.exitCode ?? this.child.signalCode}) while ${doing}`;
    throw new Error(`${this.what} ${why}${this.stderr ? `:\n${this.errors}` : ''}`);
  }
}
