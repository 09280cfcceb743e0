import { sql } from 'kysely';
import pg from 'pg';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Store } from '../../store/open-store.ts';
import { committedOf } from './session-rows.ts';
import { SESSION_CHANNEL, type SessionService } from './session-service.ts';

export interface SessionFeedOptions {
  /** The store's PostgreSQL URL: the feed holds its own connection, outside the pool, to LISTEN on. */
  databaseUrl: string;
  /** The safety net: read the log this often even without a notification. */
  pollMs?: number;
  /** How long a change log row is kept; any gateway deletes older ones. */
  retainMs?: number;
}

/**
 * How late a change may become visible after the `at` it was written with: its
 * transaction may commit that much later, and seq (a sequence, taken at insert) is not
 * commit order. Rows this recent are read again on every pass; their seqs, remembered,
 * keep each from being applied twice.
 */
const REREAD_MS = 5000;

/**
 * Makes this gateway follow the session and binding changes other gateways sharing the
 * PostgreSQL database commit (the `session_changes` log, written by SessionService in the
 * same transactions). It LISTENs for the notification each such transaction sends at
 * commit and, on it and every `pollMs` besides, reads the log's recent rows, loads each
 * session another gateway changed, and hands it to `SessionService.applyRemote`.
 */
export class SessionFeed {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private following = false;
  /** The latest `at` read; the next pass reads from REREAD_MS before it. */
  private watermark: number;
  private readonly applied = new Map<number, number>();
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
    private readonly options: SessionFeedOptions,
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.retainMs = options.retainMs ?? 3_600_000;
    this.watermark = Date.now();
    this.changes = metrics.counter('sideband_session_feed_changes_total', 'Session changes by other gateways applied to this one');
    this.lag = metrics.histogram('sideband_session_feed_lag_seconds', 'Time from another gateway writing a session change to this gateway applying it', [], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  }

  /**
   * Call before the rebuild from the store, and `follow` after it: changes committed
   * while it reads are then read again by the first pass, and applying them twice is
   * harmless; none is applied while the rebuild runs.
   */
  async start(): Promise<void> {
    this.watermark = (await this.databaseNow()) - REREAD_MS;
    await this.connect();
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
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, connectionTimeoutMillis: 5000 });
    // A lost connection: the safety-net timer keeps reading through the pool, and
    // reconnects the listener.
    client.on('error', (e) => {
      this.logger.warn({ err: e }, 'session feed lost its notification connection');
      if (this.client === client) this.client = null;
      client.end().catch(() => {});
    });
    client.on('notification', () => this.poke());
    await client.connect();
    await client.query(`listen ${SESSION_CHANNEL}`);
    if (this.stopped) await client.end();
    else this.client = client;
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
    if (!this.client) await this.connect();
    const from = this.watermark - REREAD_MS;
    const rows = await this.store.db
      .selectFrom('session_changes')
      .select(['seq', 'session_id', 'at'])
      .where('at', '>=', from)
      .where('origin', '<>', this.sessions.origin)
      .orderBy('seq')
      .execute();
    const fresh = rows.filter((r) => !this.applied.has(r.seq));
    const changed = new Map<string, number>();
    for (const r of fresh) changed.set(r.session_id, Math.min(changed.get(r.session_id) ?? Infinity, r.at));
    for (const [id, at] of changed) {
      const row = await this.store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) continue;
      const binding = await this.store.db.selectFrom('bindings').selectAll().where('session_id', '=', id).orderBy('start_at', 'desc').executeTakeFirst();
      const now = Date.now();
      await this.sessions.applyRemote(committedOf(row, binding), now);
      this.changes.inc();
      // `at` is the database's clock, `now` this host's: exact on one host, skewed across hosts.
      this.lag.observe(Math.max(0, now - at) / 1000);
    }
    // Only once all are applied: a pass that failed halfway is read again whole.
    for (const r of fresh) {
      this.applied.set(r.seq, r.at);
      if (r.at > this.watermark) this.watermark = r.at;
    }
    for (const [seq, at] of this.applied) if (at < from) this.applied.delete(seq);
    await this.prune();
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    await this.store.db.deleteFrom('session_changes').where('at', '<', this.watermark - this.retainMs).execute();
  }

  private async databaseNow(): Promise<number> {
    const { rows } = await sql<{ now: number }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as now`.execute(this.store.db);
    return Number(rows[0]!.now);
  }
}
