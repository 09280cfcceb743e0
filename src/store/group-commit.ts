import type { Counter } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { failureKind, isTransient, type FailureKind } from './failure-kind.ts';
import type { Db, Tx } from './open-store.ts';

type Job<T> = { run: (tx: Tx) => Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };

export interface GroupCommitOptions {
  maxBatch?: number;
  /** Runs of one transaction that fails transiently, the first included. */
  maxAttempts?: number;
  logger?: Logger;
  metrics?: Metrics;
}

/** What a failed transaction led to: run again, its jobs split apart, or a job rejected. */
type FailureAction = 'retried' | 'split' | 'rejected';

/**
 * Group commit: writes queued while a transaction is being committed go into the next
 * one, so that a burst of RADIUS requests costs one fsync instead of one each, and every
 * caller still learns only after its write is durable.
 *
 * A failed transaction is logged and counted
 * (`sideband_group_commit_failures_total{kind,action}`), then:
 * - a transient failure (serialization, deadlock, a busy SQLite file, a lost connection)
 *   runs the same transaction again, up to `maxAttempts` times. A lost connection during
 *   COMMIT leaves it unknown whether the transaction committed, so **every job must be
 *   idempotent**: a second run after a commit that did happen must change nothing
 *   (conditional updates, inserts under ids chosen before the first run);
 * - any other failure rejects the one job whose statement raised it, without running it
 *   again, and commits its neighbours without it, so one bad write does not fail them.
 */
export class GroupCommit {
  private queue: Array<Job<unknown>> = [];
  private flushing = false;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxAttempts: number;
  private readonly logger: Logger | undefined;
  private readonly failures: Counter<'kind' | 'action'> | undefined;

  constructor(
    private readonly db: Db,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 512;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.logger = options.logger;
    this.failures = options.metrics?.counter('sideband_group_commit_failures_total', 'Group-commit transactions that failed, by failure kind and what followed', ['kind', 'action']);
  }

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
    while (this.queue.length > 0) await this.commitBatch(this.queue.splice(0, this.maxBatch));
    this.flushing = false;
    for (const wake of this.idle.splice(0)) wake();
  }

  private async commitBatch(initial: Array<Job<unknown>>): Promise<void> {
    let jobs = initial;
    let attempt = 1;
    while (jobs.length > 0) {
      const results: unknown[] = [];
      let failedAt = -1;
      try {
        await this.db.transaction().execute(async (tx) => {
          for (let i = 0; i < jobs.length; i++) {
            try {
              results.push(await jobs[i]!.run(tx));
            } catch (e) {
              failedAt = i;
              throw e;
            }
          }
        });
        jobs.forEach((job, i) => job.resolve(results[i]));
        return;
      } catch (e) {
        const kind = failureKind(e);
        if (isTransient(kind) && attempt < this.maxAttempts) {
          this.failed(e, kind, 'retried', jobs.length, attempt);
          attempt++;
          // A short pause lets a competing transaction (or a restarting server) finish.
          await new Promise((r) => setTimeout(r, 5 * attempt * attempt));
          continue;
        }
        if (failedAt >= 0 && !isTransient(kind)) {
          // The job whose statement failed is rejected as it is; the rest go again without it.
          this.failed(e, kind, jobs.length > 1 ? 'split' : 'rejected', jobs.length, attempt);
          jobs[failedAt]!.reject(e);
          jobs = jobs.filter((_, i) => i !== failedAt);
          attempt = 1;
          continue;
        }
        if (jobs.length > 1 && !isTransient(kind)) {
          // Failed at COMMIT, no job to blame: each alone, so the others still commit.
          this.failed(e, kind, 'split', jobs.length, attempt);
          for (const job of jobs) await this.commitBatch([job]);
          return;
        }
        this.failed(e, kind, 'rejected', jobs.length, attempt);
        for (const job of jobs) job.reject(e);
        return;
      }
    }
  }

  private failed(e: unknown, kind: FailureKind, action: FailureAction, jobs: number, attempt: number): void {
    this.failures?.inc({ kind, action });
    // A unique violation rejected alone is a race its caller expects (another gateway took
    // the address): it decides what it means and logs it if it matters.
    const level = action === 'rejected' && kind !== 'unique-violation' ? 'error' : kind === 'unique-violation' ? 'debug' : 'warn';
    this.logger?.[level]({ err: e, kind, action, jobs, attempt }, 'group commit transaction failed');
  }

  /** Waits for queued writes, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.flushing || this.queue.length > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
