import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NetworkNamespaces } from '../../support/network-namespaces.ts';
import type { RunnerMessage } from './runner-commands.ts';

const root = new URL('../../../', import.meta.url).pathname;

/**
 * The test's side of a runner (a script of this folder that runs in one namespace): starts
 * it with `node --import tsx`, waits for it to announce itself, sends it commands and waits
 * for each reply, every wait bounded. Its stdout and stderr go to the suite's log directory,
 * where the never-in-clear scan reads them.
 */
export class RunnerProcess {
  private readonly pending = new Map<number, (m: RunnerMessage) => void>();
  private next = 1;
  private output = '';
  private readonly log: WriteStream | null;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const dir = process.env.SIDEBAND_TEST_LOG_DIR;
    this.log = dir ? (mkdirSync(dir, { recursive: true }), createWriteStream(join(dir, `isolation-${name}-${child.pid}.log`))) : null;
    child.stderr!.on('data', (c: Buffer) => {
      this.output = (this.output + c.toString()).slice(-8000);
      this.log?.write(c);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.log?.write(`${line}\n`);
      let message: RunnerMessage;
      try {
        message = JSON.parse(line) as RunnerMessage;
      } catch {
        this.output = (this.output + line + '\n').slice(-8000);
        return;
      }
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.(message);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter({ id: -1, ok: false, error: `${name} exited (${code ?? signal}) before replying:\n${this.output}` });
      this.pending.clear();
      this.log?.end();
      resolve();
    }));
  }

  /** Starts `script` (a file of this folder) in `ns` and resolves with what it announced. */
  static async start<T>(net: NetworkNamespaces, ns: string, script: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<{ runner: RunnerProcess; ready: T }> {
    const child = net.spawn(ns, [process.execPath, '--conditions=sideband-source', '--import', 'tsx', join(root, 'test/channel/isolation', script)], { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const runner = new RunnerProcess(script.replace(/\.ts$/, ''), child);
    return { runner, ready: (await runner.await(0, timeoutMs)) as T };
  }

  /** Sends `op` and resolves with the result; rejects with the runner's error, or after `timeoutMs`. */
  async command<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.next++;
    const reply = this.await(id, timeoutMs);
    this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    return (await reply) as T;
  }

  private await(id: number, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no reply to #${id} in ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        if (m.ok) resolve(m.result);
        else reject(new Error(`${this.name}: ${m.error}\n${this.output}`));
      });
    });
  }

  /** Closes its stdin (the runner stops cleanly) and waits for it to exit; NetworkNamespaces.dispose kills it if it does not. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.child.stdin!.end();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }
}
