import type { Db, Tx } from './open-store.ts';

type Job<T> = { run: (tx: Tx) => Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };

/**
 * Group commit: writes queued while a transaction is being committed go into the next
 * one, so that a burst of RADIUS requests costs one fsync instead of one each, and every
 * caller still learns only after its write is durable. If a batch fails, its jobs are
 * retried one transaction each, so one bad write does not fail its neighbours.
 */
export class GroupCommit {
  private queue: Array<Job<unknown>> = [];
  private flushing = false;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 512,
  ) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('group commit closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: work, resolve, reject } as Job<unknown>);
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const results: unknown[] = [];
      try {
        await this.db.transaction().execute(async (tx) => {
          for (const job of batch) results.push(await job.run(tx));
        });
        batch.forEach((job, i) => job.resolve(results[i]));
      } catch {
        for (const job of batch) {
          try {
            job.resolve(await this.db.transaction().execute((tx) => job.run(tx)));
          } catch (e) {
            job.reject(e);
          }
        }
      }
    }
    this.flushing = false;
  }

  /** Waits for queued writes, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
