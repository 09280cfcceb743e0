import { createInterface } from 'node:readline';

/** A runner's reply to one command, or its announcement that it is up (`id` 0). */
export interface RunnerMessage {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

export type CommandHandlers = Record<string, (args: Record<string, unknown>) => Promise<unknown>>;

const send = (message: RunnerMessage): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

/**
 * The runner's side of the line protocol the isolation test speaks with the processes it
 * starts in the namespaces: one JSON object a line, `{ id, op, args }` in on stdin, `{ id,
 * ok, result | error }` out on stdout. What a runner prints is kept in the suite's log
 * directory and scanned for card numbers, so no handler may return one.
 */
export function serveCommands(ready: unknown, handlers: CommandHandlers, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // Bounded: the test's SIGKILL follows if stop() hangs, but a clean stop leaves no socket behind.
    stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  createInterface({ input: process.stdin }).on('line', (line) => {
    let command: { id: number; op: string; args?: Record<string, unknown> };
    try {
      command = JSON.parse(line) as typeof command;
    } catch {
      return send({ id: -1, ok: false, error: 'not JSON' });
    }
    const handler = handlers[command.op];
    if (!handler) return send({ id: command.id, ok: false, error: `unknown op ${command.op}` });
    handler(command.args ?? {}).then(
      (result) => send({ id: command.id, ok: true, result }),
      (e: unknown) => send({ id: command.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
    );
  }).on('close', shutdown);
  send({ id: 0, ok: true, result: ready });
}

/** Runs a runner's start-up, reporting a failure on stdout (the test shows it) before exiting. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    send({ id: 0, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    process.exit(1);
  });
}
