import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Store } from './open-store.ts';

/** One statement of a batch: SQLite text with `?` placeholders, and its values. */
export interface WriterStatement {
  sql: string;
  values: unknown[];
}

/**
 * Part of a batch: the first opens its transaction, the one marked `last` commits it, or
 * rolls it back when marked `abandon` (the parts could not all be made).
 */
export interface WriterRequest {
  id: number;
  statements: WriterStatement[];
  last: boolean;
  abandon?: true;
}

export type WriterReply = { id: number; ok: true; changes: number } | { id: number; ok: false; message: string; code: string | undefined };

/** Raised for a batch the thread refused or could not finish; `code` is SQLite's, for failureKind. */
export class SqliteWriterError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteWriterError';
  }
}

const worker = new URL(import.meta.url.endsWith('.ts') ? './sqlite-writer.worker.ts' : './sqlite-writer.worker.js', import.meta.url);

function spawn(location: string): Worker {
  if (worker.pathname.endsWith('.ts')) {
    // Tests and benches run the sources under tsx, whose loader a worker does not inherit
    // on Node 20: the thread registers it before loading its module. The built gateway
    // (dist/) runs plain JavaScript and takes the other branch.
    const bootstrap = `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(worker.href)});`;
    return new Worker(bootstrap, { eval: true, workerData: { location } });
  }
  return new Worker(worker, { workerData: { location } });
}

type Waiter = { resolve: (changes: number) => void; reject: (e: Error) => void };

/** A running thread, its batches awaiting an answer, and whether it was asked to end. */
interface Running {
  worker: Worker;
  waiting: Map<number, Waiter>;
  closing: boolean;
}

/**
 * A thread with its own connection to the gateway's SQLite file, for large batches of
 * writes (the tracking's once-a-second flush of destinations): better-sqlite3 runs every
 * statement synchronously, so on the event loop's connection such a batch held the loop
 * (and the flow collector's sockets) for its whole length; here it runs on the other core.
 *
 * A batch is one transaction with the durability of any other (`synchronous = FULL`). While
 * it runs, the event loop's connection is held through Kysely (`transaction` below), so
 * the gateway's own writers wait their turn without blocking the loop, instead of
 * spinning in busy_timeout against the thread's write lock.
 *
 * A thread that dies (it should not) fails what it was given and is started again by the
 * next batch. Its last batch may or may not have committed; the caller must tolerate
 * either (the destination flush does: times are kept as min/max, and only the flow
 * counts could be added twice).
 */
export class SqliteWriterThread {
  private thread: Running | null = null;
  private nextId = 1;

  constructor(private readonly store: Store) {
    if (store.dialect !== 'sqlite') throw new Error('SqliteWriterThread is for a SQLite store');
  }

  /** Starts the thread now instead of with the first batch. */
  start(): void {
    this.threadNow();
  }

  /**
   * Runs the statements of every part as one transaction on the thread; resolves with the
   * rows changed once it has committed. The parts are sent as they come, one per turn of
   * the event loop: the thread writes one while the next is made, and no part holds the
   * loop for longer than it takes to make and send it.
   */
  transaction(parts: Iterable<WriterStatement[]>): Promise<number> {
    return this.store.db.connection().execute(() => this.send(parts));
  }

  /**
   * Closes the thread's connection and ends the thread, after the batches already sent
   * whole (a batch still being sent in parts then fails: close after the last flush).
   */
  async close(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.thread = null;
    thread.closing = true;
    const exited = once(thread.worker, 'exit');
    thread.worker.ref();
    thread.worker.postMessage('close');
    await exited;
  }

  private async send(parts: Iterable<WriterStatement[]>): Promise<number> {
    const thread = this.threadNow();
    const { worker, waiting } = thread;
    const id = this.nextId++;
    // Unreferenced while idle, so that an open tracking service never keeps a process
    // alive; referenced while a batch is out, so that the process waits for its answer.
    if (waiting.size === 0) worker.ref();
    const answer = new Promise<number>((resolve, reject) => waiting.set(id, { resolve, reject }));
    let settled = false;
    void answer.then(
      () => (settled = true),
      () => (settled = true),
    );
    let previous: WriterStatement[] | null = null;
    try {
      for (const part of parts) {
        if (previous) {
          worker.postMessage({ id, statements: previous, last: false } satisfies WriterRequest);
          await new Promise((resolve) => setImmediate(resolve));
          // A part that failed ended the batch: the thread has rolled it back.
          if (settled) return answer;
        }
        previous = part;
      }
      worker.postMessage({ id, statements: previous ?? [], last: true } satisfies WriterRequest);
    } catch (e) {
      // The transaction holds SQLite's write lock: end it now, not with the next batch, and
      // keep Kysely's connection until the thread has rolled back (its answer).
      worker.postMessage({ id, statements: [], last: true, abandon: true } satisfies WriterRequest);
      await answer.catch(() => {});
      throw e;
    }
    return answer;
  }

  private threadNow(): Running {
    if (this.thread) return this.thread;
    const worker = spawn(this.store.location);
    const thread: Running = { worker, waiting: new Map(), closing: false };
    worker.on('message', (reply: WriterReply) => {
      const w = thread.waiting.get(reply.id);
      if (!w) return;
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0 && !thread.closing) worker.unref();
      if (reply.ok) w.resolve(reply.changes);
      else w.reject(new SqliteWriterError(reply.message, reply.code));
    });
    // 'error' (an exception the thread did not catch) is followed by 'exit', which fails
    // the batches out with it.
    let uncaught = '';
    worker.on('error', (e) => {
      uncaught = `: ${e.message}`;
    });
    worker.on('exit', (code) => {
      if (this.thread === thread) this.thread = null;
      const failure = new SqliteWriterError(`the SQLite writer thread stopped (exit code ${code})${uncaught}`, undefined);
      for (const w of thread.waiting.values()) w.reject(failure);
      thread.waiting.clear();
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.thread = thread;
    return thread;
  }
}
