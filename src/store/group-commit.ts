import type { Counter } from 'prom-client';
import { SidebandError } from '../errors/sideband-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { failureKind, isTransient, type FailureKind } from './failure-kind.ts';
import type { Db, SqliteStatements, Tx } from './open-store.ts';
import { runsDirectlyOn } from './prepared-statement.ts';

/**
 * `rerun` is true when an earlier run of the same transaction failed transiently, so its
 * COMMIT may have landed: only then must a job look for its own rows before writing them.
 */
export type JobWork<T> = (tx: Tx, rerun: boolean) => Promise<T>;
type Job<T> = { run: JobWork<T>; resolve: (v: T) => void; reject: (e: unknown) => void; affinity: string | undefined };

export interface GroupCommitOptions {
  maxBatch?: number;
  /**
   * Transactions in flight at once, each on its own connection (default 1). Only where the
   * database takes concurrent writers (PostgreSQL): a batch there waits on one round trip
   * per statement, so one lane leaves both the gateway and the database mostly idle. The
   * jobs one gather collected are shared among the lanes free at that moment (see gather).
   * Concurrent batches meet as two gateways on one database do (row locks, unique keys).
   */
  lanes?: number;
  /** SQLite's statement cache: hot statements in the batch's transaction run on it directly (prepared-statement.ts). */
  sqlite?: SqliteStatements | null;
  /** Runs of one transaction that fails transiently, the first included. */
  maxAttempts?: number;
  logger?: Logger;
  metrics?: Metrics;
}

/** Turns of the event loop a commit waits at most for more jobs (see gather). */
const GATHER_TURNS = 4;

/**
 * Jobs split into at most `n` batches of about equal size, in the order queued, except that
 * jobs of one affinity go into the batch of the first of them.
 */
function shares<J extends { affinity: string | undefined }>(jobs: J[], n: number): J[][] {
  if (n === 1) return [jobs];
  const size = Math.ceil(jobs.length / n);
  const out: J[][] = Array.from({ length: Math.min(n, jobs.length) }, () => []);
  const placed = new Map<string, J[]>();
  let next = 0;
  for (const job of jobs) {
    let batch = job.affinity === undefined ? undefined : placed.get(job.affinity);
    if (!batch) {
      while (next < out.length - 1 && out[next]!.length >= size) next++;
      batch = out[next]!;
      if (job.affinity !== undefined) placed.set(job.affinity, batch);
    }
    batch.push(job);
  }
  return out.filter((batch) => batch.length > 0);
}

/**
 * A batch's jobs by affinity, jobs of one affinity (and those without, last) in the order
 * queued. A job locks rows of its affinity (a session, its prepaid subscriber, the
 * subscriber's other sessions), so batches running at once in two lanes or on two gateways
 * take those locks in one order and wait for each other in turn instead of deadlocking,
 * whatever order their requests came in (PostgreSQL breaks a deadlock only after its
 * deadlock_timeout, a second, then runs the losing batch again). Only where batches run
 * concurrently: SQLite's one lane keeps the order queued.
 */
function inLockOrder<J extends { affinity: string | undefined }>(jobs: J[]): J[] {
  if (jobs.length < 2) return jobs;
  return jobs.slice().sort((a, b) => (a.affinity === b.affinity ? 0 : a.affinity === undefined ? 1 : b.affinity === undefined ? -1 : a.affinity < b.affinity ? -1 : 1));
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
 *   runs the same transaction again, up to `maxAttempts` times; but a statement that waited
 *   out lock_timeout on another transaction's lock rejects only its own job (its caller's
 *   client retries later) and commits the others at once, so a peer that froze holding one
 *   key holds up nothing else. A lost connection during
 *   COMMIT leaves it unknown whether the transaction committed, so **every job must be
 *   idempotent**: a second run after a commit that did happen must change nothing
 *   (conditional updates, inserts under ids chosen before the first run);
 * - any other failure rejects the one job whose statement raised it, without running it
 *   again, and commits its neighbours without it, so one bad write does not fail them.
 */
export class GroupCommit {
  private queue: Array<Job<unknown>> = [];
  /** Batches being committed now, and whether a gather is scheduled. */
  private active = 0;
  private gathering = false;
  private readonly lanes: number;
  private readonly sqlite: SqliteStatements | null;
  private closed = false;
  private idle: Array<() => void> = [];
  /** Work registered by jobs to run once after all of a transaction's jobs, before its COMMIT (see atEnd). */
  private readonly ending = new WeakMap<Tx, Map<string, (tx: Tx) => Promise<void>>>();
  private readonly maxBatch: number;
  private readonly maxAttempts: number;
  private readonly logger: Logger | undefined;
  private readonly failures: Counter<'kind' | 'action'> | undefined;

  constructor(
    private readonly db: Db,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 512;
    this.lanes = options.lanes ?? 1;
    this.sqlite = options.sqlite ?? null;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.logger = options.logger;
    this.failures = options.metrics?.counter('sideband_group_commit_failures_total', 'Group-commit transactions that failed, by failure kind and what followed', ['kind', 'action']);
  }

  /**
   * Queues `work` for the next transaction. `affinity` names whose rows the job locks (a
   * subscriber's login). Where there are several lanes, jobs of one affinity gathered
   * together stay in one transaction, in the order queued, and each transaction runs its
   * jobs by affinity (inLockOrder): two Stops of one prepaid subscriber, or Stops of two
   * subscribers arriving in opposite orders, would otherwise deadlock in two lanes or on
   * two gateways, and wait out PostgreSQL's deadlock_timeout.
   */
  run<T>(work: JobWork<T>, affinity?: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error('group commit closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: work, resolve, reject, affinity } as Job<unknown>);
      this.schedule();
    });
  }

  /** Starts gathering a batch when a lane is free and none is gathering already. */
  private schedule(): void {
    if (this.gathering || this.active >= this.lanes || this.queue.length === 0) return;
    this.gathering = true;
    const seen = this.queue.length;
    setImmediate(() => this.gather(seen));
  }

  /**
   * Runs `finish` once in this transaction after its last job and before its COMMIT, however
   * many jobs ask under `key`: what each job would write alone (a change-log row, a
   * NOTIFY) becomes one statement per commit. A transaction run again starts afresh.
   */
  atEnd(tx: Tx, key: string, finish: (tx: Tx) => Promise<void>): void {
    let pending = this.ending.get(tx);
    if (!pending) this.ending.set(tx, (pending = new Map()));
    if (!pending.has(key)) pending.set(key, finish);
  }

  get pending(): number {
    return this.queue.length;
  }

  /**
   * Waits while each turn of the event loop brings more jobs, up to GATHER_TURNS turns, then
   * commits. libuv reads at most 32 datagrams from a socket per turn, so a burst of RADIUS
   * requests reaches the queue over several turns; one commit (one fsync) for all of them
   * instead of one per 32. A turn without a new job commits at once, so a lone request
   * waits for no one.
   */
  private gather(seen: number, turns = 1): void {
    if (this.queue.length > seen && this.queue.length < this.maxBatch && turns < GATHER_TURNS) {
      const now = this.queue.length;
      setImmediate(() => this.gather(now, turns + 1));
      return;
    }
    this.gathering = false;
    // What was gathered is shared among the free lanes. A batch runs its statements one
    // after another, a round trip each, so one batch of everything leaves the other lanes
    // idle; and the requests it answers at once come back at once, as a NAS's window of
    // outstanding requests does, so the load settles into one batch at a time (seen on
    // PostgreSQL: 128 Stops a batch on one lane of four).
    const free = this.lanes - this.active;
    for (const batch of shares(this.queue.splice(0, this.maxBatch * free), free)) void this.flush(this.lanes > 1 ? inLockOrder(batch) : batch);
    // The next batch gathers while these commit, in another lane if there is one.
    this.schedule();
  }

  private async flush(batch: Array<Job<unknown>>): Promise<void> {
    this.active++;
    try {
      await this.commitBatch(batch);
    } finally {
      this.active--;
    }
    this.schedule();
    if (this.active === 0 && !this.gathering && this.queue.length === 0) for (const wake of this.idle.splice(0)) wake();
  }

  /** `rerun`: an earlier run of these jobs failed in a way that may have followed its COMMIT. */
  private async commitBatch(initial: Array<Job<unknown>>, rerunFromStart = false): Promise<void> {
    let jobs = initial;
    let attempt = 1;
    // Once true, stays true however the jobs are split: a COMMIT that may have landed is not undone by a later failure.
    let rerun = rerunFromStart;
    while (jobs.length > 0) {
      const results: unknown[] = [];
      let failedAt = -1;
      try {
        await this.db.transaction().execute(async (tx) => {
          if (this.sqlite) runsDirectlyOn(tx, this.sqlite);
          for (let i = 0; i < jobs.length; i++) {
            try {
              results.push(await jobs[i]!.run(tx, rerun));
            } catch (e) {
              failedAt = i;
              throw e;
            }
          }
          for (const finish of this.ending.get(tx)?.values() ?? []) await finish(tx);
        });
        jobs.forEach((job, i) => job.resolve(results[i]));
        return;
      } catch (e) {
        const kind = failureKind(e);
        if (kind === 'lock-timeout' && failedAt >= 0) {
          this.failed(e, kind, jobs.length > 1 ? 'split' : 'rejected', jobs.length, attempt);
          jobs[failedAt]!.reject(e);
          jobs = jobs.filter((_, i) => i !== failedAt);
          attempt = 1;
          continue;
        }
        if (isTransient(kind) && attempt < this.maxAttempts) {
          this.failed(e, kind, 'retried', jobs.length, attempt);
          attempt++;
          rerun = true;
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
          // Failed at COMMIT, no job to blame: each alone, so the others still commit. Whether
          // that COMMIT did anything is not known for every failure: each looks for its rows.
          this.failed(e, kind, 'split', jobs.length, attempt);
          for (const job of jobs) await this.commitBatch([job], true);
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
    // the address), and a job's own refusal (a replayed nonce, a card already sent: a 4xx)
    // is its caller's answer, not a fault: the caller decides what each means and logs it
    // if it matters. Otherwise a client could fill the error log by replaying a request.
    const refusal = e instanceof SidebandError && e.status < 500;
    const level = kind === 'unique-violation' || refusal ? 'debug' : action === 'rejected' ? 'error' : 'warn';
    this.logger?.[level]({ err: e, kind, action, jobs, attempt }, 'group commit transaction failed');
  }

  /** Waits for queued writes, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.active > 0 || this.gathering || this.queue.length > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
