import { sql } from 'kysely';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ChangeNotices } from '../../store/change-notices.ts';
import type { JobLeases } from '../../store/job-leases.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { Binding } from '../../core/resolution/binding.ts';
import { bindingOf, committedOf } from './session-rows.ts';
import type { PrefixBindingTable } from '../../store/schema.ts';
import { SESSION_CHANNEL, type SessionService } from './session-service.ts';

export interface SessionFeedOptions {
  /** The safety net: read the log this often even without a notification. */
  pollMs?: number;
  /** How long a change log row is kept; one gateway (the lease holder) deletes older ones. */
  retainMs?: number;
}

/** A change log row: `xid` is its transaction's id (xid8), as a bigint. */
interface ChangeRow {
  seq: number;
  session_id: string;
  at: number;
  xid: bigint;
}

const CHUNK = 500;

/**
 * Makes this gateway follow the session and binding changes other gateways sharing the
 * PostgreSQL database commit (the `session_changes` log, written by SessionService in the
 * same transactions). It reads the log when a NOTIFY says a change committed, and every
 * `pollMs` besides.
 *
 * Reads go by transaction visibility, not time: each pass reads, in one repeatable-read
 * snapshot, the log rows whose transaction id is at or above the previous snapshot's
 * xmin, and the sessions they name. Every transaction below a snapshot's xmin had ended
 * before it was taken, so its rows were visible to that pass; however late a transaction
 * commits, its rows are read by the first pass whose snapshot sees it. Rows read again
 * while an older transaction keeps xmin back are skipped by their seq.
 */
export class SessionFeed {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private following = false;
  /** The xmin of the last pass's snapshot: rows of transactions below it have all been read. */
  private xmin: bigint = 0n;
  private readonly applied = new Map<number, bigint>();
  private reading: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;
  private readonly lag: Histogram;
  private readonly changes: Counter;
  private readonly pollMs: number;
  private readonly retainMs: number;

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly notices: ChangeNotices,
    private readonly leases: JobLeases,
    options: SessionFeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.retainMs = options.retainMs ?? 3_600_000;
    this.changes = metrics.counter('sideband_session_feed_changes_total', 'Session changes by other gateways applied to this one');
    this.lag = metrics.histogram('sideband_session_feed_lag_seconds', 'Time from another gateway writing a session change to this gateway applying it', [], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
    // A notification naming this gateway as origin is its own commit: nothing to follow.
    notices.on(SESSION_CHANNEL, (origin) => origin !== sessions.origin && this.poke(), () => this.poke());
  }

  /**
   * Call before the rebuild from the store, and `follow` after it: a change committed
   * while the rebuild reads has a transaction id at or above this snapshot's xmin, so the
   * first pass reads it again; applying it twice is harmless.
   */
  async start(): Promise<void> {
    const { rows } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(this.store.db);
    this.xmin = BigInt(rows[0]!.xmin);
  }

  follow(): void {
    this.following = true;
    this.timer = setInterval(() => this.poke(), this.pollMs);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.reading?.catch(() => {});
  }

  /** Reads now, or once more right after the read under way (a notification may have come in during it). */
  private poke(): void {
    if (this.stopped || !this.following) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll()
      .catch((e) => this.logger.warn({ err: e }, 'session feed could not read the change log'))
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async readAll(): Promise<void> {
    // One snapshot for the log and the sessions it names, so each session is read as of
    // a point at which every change below xmin is known to be in it.
    const pass = await this.store.db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
      const { rows: snap } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(tx);
      const { rows } = await sql<{ seq: number; session_id: string; at: number; xid: string }>`
        select seq, session_id, at, xid::text as xid from session_changes
        where xid >= ${this.xmin.toString()}::xid8 and origin <> ${this.sessions.origin} order by seq`.execute(tx);
      const fresh: ChangeRow[] = rows.filter((r) => !this.applied.has(Number(r.seq))).map((r) => ({ seq: Number(r.seq), session_id: r.session_id, at: Number(r.at), xid: BigInt(r.xid) }));
      return { xmin: BigInt(snap[0]!.xmin), fresh, committed: await this.load(tx, fresh) };
    });
    const now = Date.now();
    const firstAt = new Map<string, number>();
    for (const r of pass.fresh) firstAt.set(r.session_id, Math.min(firstAt.get(r.session_id) ?? Infinity, r.at));
    for (const s of pass.committed) {
      await this.sessions.applyRemote(s, now);
      this.changes.inc();
      // `at` is the database's clock, `now` this host's: exact on one host, skewed across hosts.
      this.lag.observe(Math.max(0, now - (firstAt.get(s.id) ?? now)) / 1000);
    }
    // Only once all are applied: a pass that failed halfway is read again whole.
    for (const r of pass.fresh) this.applied.set(r.seq, r.xid);
    this.xmin = pass.xmin;
    for (const [seq, xid] of this.applied) if (xid < this.xmin) this.applied.delete(seq);
    await this.prune();
  }

  /**
   * The sessions the rows name, each with its latest binding and its prefixes, in three queries per chunk;
   * in the order of each one's last change, so that a unit closed by one session and
   * then bound to another is released before it is taken.
   */
  private async load(tx: Tx, fresh: ChangeRow[]) {
    const last = new Map<string, number>();
    for (const r of fresh) last.set(r.session_id, Math.max(last.get(r.session_id) ?? 0, r.seq));
    const ids = [...last.keys()];
    const out = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const sessions = await tx.selectFrom('sessions').selectAll().where('id', 'in', chunk).execute();
      const bindings = await tx.selectFrom('bindings').selectAll().where('session_id', 'in', chunk).orderBy('start_at', 'desc').execute();
      const latest = new Map<string, (typeof bindings)[number]>();
      // The earlier ones too: a session whose NAS moved it twice between two passes held an address in between.
      const history = new Map<string, Binding[]>();
      for (const b of bindings) {
        if (!latest.has(b.session_id)) latest.set(b.session_id, b);
        else history.set(b.session_id, [...(history.get(b.session_id) ?? []), bindingOf(b)]);
      }
      const prefixes = new Map<string, PrefixBindingTable[]>();
      for (const p of await tx.selectFrom('prefix_bindings').selectAll().where('session_id', 'in', chunk).orderBy('start_at').execute()) prefixes.set(p.session_id, [...(prefixes.get(p.session_id) ?? []), p]);
      for (const row of sessions) out.push({ ...committedOf(row, latest.get(row.id), undefined, prefixes.get(row.id)), history: history.get(row.id) ?? [] });
    }
    return out.sort((x, y) => last.get(x.id)! - last.get(y.id)!);
  }

  /** Deletes log rows older than `retainMs`: once a minute, by whichever gateway holds the job. */
  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    await this.leases.run('session-changes-prune', 180_000, () => this.store.db.deleteFrom('session_changes').where('at', '<', now - this.retainMs).execute(), now);
  }
}
