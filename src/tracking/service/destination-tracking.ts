import { cidrContains, type Cidr } from '../../core/network/cidr.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Store } from '../../store/open-store.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import { SqliteWriterThread, type WriterStatement } from '../../store/sqlite-writer.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import { viewAddressText, type FlowSink, type FlowView } from '../wire/flow-view.ts';
import { ipv6Text } from '../wire/address-text.ts';
import { CanonicalTexts } from './canonical-texts.ts';
import { DestinationBook, type DestinationEntry, type DestinationLimits, type DrainedEntry } from './destination-book.ts';
import { SourceHolders } from './source-holders.ts';

/**
 * How late the store may learn that a known destination was contacted again (not its
 * session's newest, which is always written): rewriting every busy pair every second
 * was most of the collector's work, and the destination check's window is minutes.
 */
const REFRESH_MS = 10_000;

// Rows per INSERT … ON CONFLICT (500 parameters, well under either database's limit), and
// per part sent to SQLite's writer thread in one turn of the event loop.
const ROWS_PER_UPSERT = 100;
const ROWS_PER_PART = 2000;

// A row is the sum of what every entry for its (session, destination) counted: the earliest
// first contact, the latest last contact, and the flows added (DrainedEntry.newFlows).
const upsertTexts = new Map<number, string>();
function upsertText(rows: number): string {
  let text = upsertTexts.get(rows);
  if (!text) {
    const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ');
    text =
      `insert into session_destinations (session_id, destination, first_seen, last_seen, flows) values ${values} on conflict (session_id, destination) do update set ` +
      'first_seen = case when excluded.first_seen < session_destinations.first_seen then excluded.first_seen else session_destinations.first_seen end, ' +
      'last_seen = case when excluded.last_seen > session_destinations.last_seen then excluded.last_seen else session_destinations.last_seen end, ' +
      'flows = session_destinations.flows + excluded.flows';
    upsertTexts.set(rows, text);
  }
  return text;
}
const upserts = new Map<string, PreparedStatement>();
function upsertOf(text: string): PreparedStatement {
  let statement = upserts.get(text);
  if (!statement) upserts.set(text, (statement = new PreparedStatement(text)));
  return statement;
}

/** The flush's rows as upserts of ROWS_PER_UPSERT rows each (the last one shorter), ROWS_PER_PART rows a part. */
function* upsertParts(changed: readonly DrainedEntry[]): Generator<WriterStatement[]> {
  for (let start = 0; start < changed.length; start += ROWS_PER_PART) {
    const statements: WriterStatement[] = [];
    const partEnd = Math.min(start + ROWS_PER_PART, changed.length);
    for (let i = start; i < partEnd; i += ROWS_PER_UPSERT) {
      const end = Math.min(i + ROWS_PER_UPSERT, partEnd);
      const values: unknown[] = [];
      for (let j = i; j < end; j++) {
        const e = changed[j]!;
        values.push(e.sessionId, e.destination, e.firstSeen, e.lastSeen, e.newFlows);
      }
      statements.push({ sql: upsertText(end - i), values });
    }
    yield statements;
  }
}

/**
 * Rows past tracking.destinationMaxAgeMinutes are deleted this many at a time, up to
 * PURGE_BATCHES batches a minute: a backlog (the first run after an upgrade) goes over
 * several minutes instead of holding SQLite's event loop or PostgreSQL's table at once.
 */
const PURGE_ROWS = 2000;
const PURGE_BATCHES = 50;
const PURGE_EVERY_MS = 60_000;
const purgeOlder = {
  sqlite: new PreparedStatement(`delete from session_destinations where rowid in (select rowid from session_destinations where last_seen < ? limit ${PURGE_ROWS})`),
  postgres: new PreparedStatement(`delete from session_destinations where ctid = any(array(select ctid from session_destinations where last_seen < ? limit ${PURGE_ROWS}))`),
};

/** How the merchant API's destination check reads the seed's table 200. */
export type DestinationCheckMode = 'off' | 'recent' | 'last';

export interface DestinationCheck {
  contacted: boolean;
  mode: DestinationCheckMode;
  /** The matching destination, when there is one. */
  match: DestinationEntry | null;
  /** The session's most recent destination: the seed's referential address. */
  referential: DestinationEntry | null;
}

/** Why an observation found no session; `POST /v1/destinations` names it per observation. */
export type UnattributedReason =
  /** No binding held the source address (and port) at that time, nor began or ended within tracking.clockSkewSeconds of it. */
  | 'no-binding'
  /** The address was shared under carrier-grade NAT then and no source port was given. */
  | 'port-required'
  /** The time is later than now by more than tracking.clockSkewSeconds. */
  | 'in-future';

export type Attribution = { attributed: true; sessionId: string } | { attributed: false; reason: UnattributedReason };

export interface TrackingOptions {
  /** How far outside a binding an observation may fall and still be attributed to it (tracking.clockSkewSeconds). */
  clockSkewMs?: number;
  /** Destination rows kept for another write after a failed one; past this the oldest are dropped and counted. */
  maxPendingWrites?: number;
  /** How often rows past the age limit are deleted from the store (default a minute). */
  purgeEveryMs?: number;
}

export interface Observation {
  exporter: string;
  sourceAddress: string;
  sourcePort?: number | undefined;
  destinationAddress: string;
  at: number;
  flows?: number;
}

/**
 * Attributes flows to the sessions whose bindings held their source address (and port)
 * at the flow's time, keeps each session's recent destinations, writes them to the store
 * once a second, and answers the destination check.
 */
export class DestinationTracking implements FlowSink {
  readonly book: DestinationBook;
  private flusher: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** SQLite's flushes run on a thread of their own; null on PostgreSQL, whose writes do not hold the event loop. */
  private readonly writer: SqliteWriterThread | null;
  private readonly attributed;
  private readonly unattributed;
  private readonly writeFailures;
  private readonly writesDropped;
  private readonly clockSkewMs: number;
  private readonly maxPendingWrites: number;
  private readonly maxAgeMs: number;
  private readonly purgeEveryMs: number;
  private purgedAt = 0;
  private purging: Promise<void> | null = null;
  private stopping = false;
  /** Rows whose write failed, one per (session, destination), to be written with the next flush. */
  private pendingWrites: DrainedEntry[] = [];
  private readonly texts = new CanonicalTexts();
  private readonly holders: SourceHolders;
  /** The datagram being attributed through `flow`: its time, and its counts until `endFlows`. */
  private readonly tally = { now: 0, attributed: 0, noBinding: 0, portRequired: 0, inFuture: 0 };
  private readonly observation: Observation = { exporter: '', sourceAddress: '', sourcePort: undefined, destinationAddress: '', at: 0 };
  /** The exporter registration of the datagram being attributed (beginFlows). */
  private registration: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    metrics: Metrics,
    limits: DestinationLimits,
    options: TrackingOptions = {},
  ) {
    this.book = new DestinationBook(limits);
    this.writer = store.dialect === 'sqlite' ? new SqliteWriterThread(store) : null;
    this.maxAgeMs = limits.maxAgeMs;
    this.purgeEveryMs = options.purgeEveryMs ?? PURGE_EVERY_MS;
    this.holders = new SourceHolders(sessions.index);
    this.clockSkewMs = options.clockSkewMs ?? 2000;
    this.maxPendingWrites = options.maxPendingWrites ?? 100_000;
    this.attributed = metrics.tally('sideband_flows_attributed_total', 'Flow records attributed to a session').at();
    const unattributed = metrics.tally('sideband_flows_unattributed_total', 'Flow records and pushed observations no session could be found for, by reason', ['reason']);
    this.unattributed = { 'no-binding': unattributed.at({ reason: 'no-binding' }), 'port-required': unattributed.at({ reason: 'port-required' }), 'in-future': unattributed.at({ reason: 'in-future' }) };
    this.writeFailures = metrics.counter('sideband_destination_write_failures_total', 'Failed writes of session destinations (the rows are kept and written again)');
    this.writesDropped = metrics.counter('sideband_destination_writes_dropped_total', 'Destination rows dropped because too many were waiting to be written again');
    metrics.gauge('sideband_tracked_destinations', 'Destinations held in memory', ['kind'], (g) => {
      const s = this.book.size;
      g.set({ kind: 'sessions' }, s.sessions);
      g.set({ kind: 'destinations' }, s.destinations);
    });
  }

  start(): void {
    this.writer?.start();
    this.purgedAt = Date.now();
    this.flusher = setInterval(() => void this.tick(), 1000);
    this.flusher.unref();
  }

  /** The timer's work: the flush, then, once per purgeEveryMs, the purge (one at a time; `stop` waits for it). */
  private async tick(): Promise<void> {
    await this.flush(REFRESH_MS);
    if (this.purging || this.stopping || Date.now() - this.purgedAt < this.purgeEveryMs) return;
    this.purgedAt = Date.now();
    this.purging = this.purgeExpired()
      .then(() => undefined, (e: unknown) => this.logger.error({ err: e }, 'deleting expired session destinations failed; trying again in a minute'))
      .finally(() => (this.purging = null));
  }

  /**
   * Deletes stored destinations last seen longer ago than tracking.destinationMaxAgeMinutes,
   * as the book forgets them: a subscriber's destinations are kept for the destination
   * check, not for ever. Returns how many rows went.
   */
  async purgeExpired(now = Date.now()): Promise<number> {
    const dialect = this.store.dialect;
    const cutoff = now - this.maxAgeMs;
    let deleted = 0;
    for (let batch = 0; batch < PURGE_BATCHES; batch++) {
      const n = await purgeOlder[dialect].run(this.store.db, dialect, [cutoff]);
      deleted += n;
      if (n < PURGE_ROWS) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (deleted > 0) this.logger.info({ deleted, olderThan: new Date(cutoff).toISOString() }, 'expired session destinations deleted');
    return deleted;
  }

  /**
   * Starts a datagram's records, handed over one by one through `flow` (the decoder's sink).
   * `registration` is the exporter registration the datagram's source falls under
   * (ExporterRegistry.admit): the book keeps its per-exporter quotas per registration, so
   * datagrams from many addresses of one registered range (UDP sources are easy to forge)
   * share one quota instead of each getting its own.
   */
  beginFlows(now = Date.now(), registration: string | null = null): void {
    const t = this.tally;
    this.registration = registration;
    t.now = now;
    t.attributed = t.noBinding = t.portRequired = t.inFuture = 0;
  }

  /**
   * Attributes one record as the decoder reads it (`holderAt` says how a source is attributed).
   * An IPv4 source is answered from SourceHolders while the binding index has not changed;
   * anything else (IPv6, a shared address, a time near a binding's edge) goes the long way.
   */
  flow(v: FlowView): void {
    const t = this.tally;
    const at = v.end || v.start;
    if (at > t.now + this.clockSkewMs) {
      t.inFuture++;
      return;
    }
    // Behind a carrier-grade NAT the exporter may report the translated source: that is
    // the address and port the bindings (and the merchant) see.
    const natted = v.natSourceV4 >= 0 || v.natSourceV6At >= 0;
    const v4 = natted ? v.natSourceV4 : v.sourceV4;
    let sessionId = v4 >= 0 ? this.holders.holder(v4, at) : undefined;
    if (sessionId === null) {
      t.noBinding++;
      return;
    }
    const cached = sessionId !== undefined;
    if (sessionId === undefined) {
      const o = this.observation;
      o.exporter = v.exporter;
      o.sourceAddress = natted ? viewAddressText(v.bytes, v.natSourceV4, v.natSourceV6At)! : viewAddressText(v.bytes, v.sourceV4, v.sourceV6At)!;
      o.sourcePort = v.natSourcePort >= 0 ? v.natSourcePort : v.sourcePort;
      o.at = at;
      const found = this.holderAt(o, t.now);
      if (!found.attributed) {
        if (found.reason === 'no-binding') t.noBinding++;
        else if (found.reason === 'port-required') t.portRequired++;
        else t.inFuture++;
        return;
      }
      sessionId = this.texts.session(o.sourceAddress, found.sessionId);
    }
    const natDestination = v.natDestinationV4 >= 0 || v.natDestinationV6At >= 0;
    const d4 = natDestination ? v.natDestinationV4 : v.destinationV4;
    const exporter = this.registration ?? v.exporter;
    if (d4 >= 0) {
      if (cached) this.holders.note = this.book.recordV4(exporter, sessionId, d4, at, 1, this.holders.note);
      else this.book.recordV4(exporter, sessionId, d4, at, 1);
    } else this.book.record(exporter, sessionId, ipv6Text(v.bytes, natDestination ? v.natDestinationV6At : v.destinationV6At), at, 1);
    t.attributed++;
  }

  /** Ends the datagram begun by `beginFlows`: counts its records once; returns how many were attributed. */
  endFlows(): number {
    const t = this.tally;
    // Counted once per datagram.
    this.attributed.add(t.attributed);
    this.unattributed['no-binding'].add(t.noBinding);
    this.unattributed['port-required'].add(t.portRequired);
    this.unattributed['in-future'].add(t.inFuture);
    return t.attributed;
  }

  observe(o: Observation): boolean {
    return this.attribute(o).attributed;
  }

  /** Attributes one observation to a session and records its destination, or says why none. */
  attribute(o: Observation, now = Date.now()): Attribution {
    const found = this.holderAt(o, now);
    if (!found.attributed) {
      this.unattributed[found.reason].add();
      return found;
    }
    this.book.record(o.exporter, found.sessionId, o.destinationAddress, o.at, o.flows ?? 1);
    this.attributed.add();
    return found;
  }

  /**
   * The session whose binding held the source at the observation's time. The exporter's
   * (or pushing gateway's) clock and the NAS's differ by a second or two, so an observation
   * up to clockSkewMs before a binding began, or after it ended, is that binding's when
   * nobody held the address at the observation's own time.
   */
  private holderAt(o: Observation, now: number): Attribution {
    const { sourceAddress: address, sourcePort: port, at } = o;
    const skew = this.clockSkewMs;
    if (at > now + skew) return { attributed: false, reason: 'in-future' };
    const exact = this.sessions.resolve(address, at, port);
    if (exact) return { attributed: true, sessionId: exact.sessionId };
    if (port === undefined && (this.sessions.isShared(address, at) || (skew > 0 && this.sessions.isShared(address, at + skew)))) return { attributed: false, reason: 'port-required' };
    if (skew > 0) {
      const next = this.sessions.resolve(address, at + skew, port);
      if (next && next.start > at) return { attributed: true, sessionId: next.sessionId };
      const previous = this.sessions.resolve(address, at - skew, port);
      if (previous && previous.end !== null && previous.end <= at) return { attributed: true, sessionId: previous.sessionId };
    }
    return { attributed: false, reason: 'no-binding' };
  }

  /**
   * Writes the destinations changed since the last flush, with those whose write failed
   * before. A failed write is logged and counted and its rows kept for the next flush
   * (merged with what was drained since: see takePending), up to maxPendingWrites.
   * The timer's flushes leave an entry whose last contact merely moved forward for a
   * later one (DestinationBook.drain); an explicit flush writes everything changed,
   * after the flush already running, if any.
   */
  flush(refreshMs = 0): Promise<void> {
    // One at a time; a flush asked for while one runs starts after it, so that what was
    // counted meanwhile (and what that flush's refreshMs left) is written too: a final
    // flush (stop) that returned the timer's would have left those rows unwritten.
    if (this.flushing) return this.flushing.then(() => this.flush(refreshMs));
    const changed = this.takePending(this.book.drain(refreshMs));
    if (changed.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        if (this.writer) {
          // SQLite: on the writer thread, so that the event loop (and the collector's
          // sockets) carry on while a large flush is written. One transaction, one fsync.
          await this.writer.transaction(upsertParts(changed));
        } else {
          await this.store.db.transaction().execute(async (tx) => {
            for (const part of upsertParts(changed)) for (const s of part) await upsertOf(s.sql).run(tx, this.store.dialect, s.values);
          });
        }
        this.book.expire();
      } catch (e) {
        const kept = this.keepForRetry(changed);
        this.writeFailures.inc();
        this.logger.error({ err: e, entries: changed.length, kept }, 'writing session destinations failed; kept to write again');
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Rows waiting to be written again after a failure. */
  get pendingWriteCount(): number {
    return this.pendingWrites.length;
  }

  /**
   * The rows to write: those kept from a failed write, and the drained ones, one per
   * (session, destination). Two for one key in one INSERT … ON CONFLICT is an error on
   * PostgreSQL ("cannot affect row a second time"), and one key comes twice whenever two
   * exporters saw the pair, or an evicted entry's last state meets its successor.
   *
   * They come session by session, sessions in the order of their ids: the table's primary
   * key starts with the session, so a session's rows share pages, and a flush that writes
   * them together touches each page once. The drain's order (first changed first) is all
   * sessions interleaved: measured on SQLite, 42,000 rows, inserts 2.9–3.3 → 1.4 µs a row,
   * updates 1.8–2.1 → 1.6–1.8, and far less dependent on the page cache.
   */
  private takePending(drained: DrainedEntry[]): DrainedEntry[] {
    const bySession = new Map<string, Map<string, DrainedEntry>>();
    const add = (e: DrainedEntry) => {
      let destinations = bySession.get(e.sessionId);
      if (!destinations) bySession.set(e.sessionId, (destinations = new Map()));
      const m = destinations.get(e.destination);
      destinations.set(e.destination, m ? { sessionId: e.sessionId, destination: e.destination, firstSeen: Math.min(m.firstSeen, e.firstSeen), lastSeen: Math.max(m.lastSeen, e.lastSeen), flows: Math.max(m.flows, e.flows), newFlows: m.newFlows + e.newFlows } : e);
    };
    for (const e of this.pendingWrites) add(e);
    this.pendingWrites = [];
    for (const e of drained) add(e);
    const rows: DrainedEntry[] = [];
    // On PostgreSQL other gateways may write the same rows at once, each flush one
    // transaction of row locks: one order everywhere (a session's destinations too), or two
    // flushes can lock the same rows in opposite orders and one fails as a deadlock. A
    // SQLite gateway is alone and spares the sort.
    const everyRowInOrder = this.store.dialect === 'postgres';
    for (const sessionId of [...bySession.keys()].sort()) {
      const destinations = bySession.get(sessionId)!;
      if (!everyRowInOrder) for (const e of destinations.values()) rows.push(e);
      else for (const destination of [...destinations.keys()].sort()) rows.push(destinations.get(destination)!);
    }
    return rows;
  }

  private keepForRetry(rows: DrainedEntry[]): number {
    // Flushes run one at a time and takePending emptied the list: nothing newer is here
    // yet, and `rows` has one entry per (session, destination).
    this.pendingWrites = rows;
    const dropped = rows.length - this.maxPendingWrites;
    if (dropped > 0) {
      this.pendingWrites = [...rows].sort((a, b) => a.lastSeen - b.lastSeen).slice(dropped);
      this.writesDropped.inc(dropped);
    }
    return this.pendingWrites.length;
  }

  /** A session's destinations, newest first: memory, or the store when memory has none. */
  async destinations(sessionId: string, now = Date.now()): Promise<DestinationEntry[]> {
    const inMemory = this.book.of(sessionId, now);
    if (inMemory.length > 0) return inMemory;
    const rows = await this.store.db.selectFrom('session_destinations').selectAll().where('session_id', '=', sessionId).where('last_seen', '>=', now - this.maxAgeMs).orderBy('last_seen', 'desc').limit(256).execute();
    return rows.map((r) => ({ destination: r.destination, firstSeen: r.first_seen, lastSeen: r.last_seen, flows: r.flows }));
  }

  /**
   * The seed's destination check: did the session contact any of `networks` — within
   * `withinMs` of `now` ('recent'), or as its very last destination ('last')?
   */
  async check(sessionId: string, networks: readonly Cidr[], mode: DestinationCheckMode, withinMs: number, now = Date.now()): Promise<DestinationCheck> {
    const list = await this.destinations(sessionId, now);
    const referential = list[0] ?? null;
    if (mode === 'off') return { contacted: true, mode, match: null, referential };
    const inNetworks = (d: DestinationEntry) => networks.some((n) => cidrContains(n, d.destination));
    const match = mode === 'last' ? (referential && inNetworks(referential) ? referential : null) : list.find((d) => now - d.lastSeen <= withinMs && inNetworks(d)) ?? null;
    return { contacted: match !== null, mode, match, referential };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.flusher) clearInterval(this.flusher);
    await this.purging;
    await this.flush();
    await this.writer?.close();
  }
}
