import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { receiveQueue } from './udp-receive-queue.ts';

/** A child process the bench started and must stop. */
export interface Supervised {
  readonly pid: number;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Sends the stop signal, waits for the exit (SIGKILL after 15 s) and returns the exit code. */
  stop(): Promise<number | null>;
}

const running = new Map<ChildProcess, Supervised>();

/** Stops every child still running, each with its own signal; for the driver's clean-up. */
export async function stopChildren(): Promise<void> {
  await Promise.all([...running.values()].map((s) => s.stop()));
}

/** Kills every child still running; the last resort of an exiting driver, which cannot wait. */
export function killChildren(): void {
  for (const child of running.keys()) child.kill('SIGKILL');
}

export function supervise(child: ChildProcess, signal: NodeJS.Signals): Supervised {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  const supervised: Supervised = {
    pid: child.pid!,
    exited,
    async stop() {
      if (running.has(child)) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.set(child, supervised);
  return supervised;
}

/**
 * Starts `command` with its output to `log`, under setpriv(1) --pdeathsig so that the
 * kernel sends it `signal` should the bench be killed outright, and resolves once a
 * socket is bound to 127.0.0.1:`port`.
 */
export async function startDaemon(command: string, args: readonly string[], o: { port: number; log: string; signal: NodeJS.Signals }): Promise<Supervised> {
  const out = openSync(o.log, 'a');
  const daemon = supervise(spawn('setpriv', ['--pdeathsig', o.signal.replace(/^SIG/, ''), '--', command, ...args], { stdio: ['ignore', out, out] }), o.signal);
  closeSync(out);
  let gone = false;
  void daemon.exited.then(() => (gone = true));
  const until = Date.now() + 10_000;
  while (receiveQueue(o.port) === null) {
    if (gone || Date.now() > until) {
      await daemon.stop();
      throw new Error(`${command} did not listen on 127.0.0.1:${o.port}:\n${readFileSync(o.log, 'utf8').slice(-2000)}`);
    }
    await sleep(20);
  }
  return daemon;
}
