import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { BindingIndex } from '../../core/resolution/binding-index.ts';
import type { Binding } from '../../core/resolution/binding.ts';
import { newId } from '../../core/identity/ids.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { GroupCommit } from '../../store/group-commit.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import { AddressPool, ipv4ToInt, type AllocatedUnit } from '../allocation/address-pool.ts';
import type { AccountingAnomalyKind } from '../protocol/accounting-anomaly.ts';
import { applyAccounting, closeWithoutStop, type AccountingReport, type ClosedBy } from '../protocol/session-accounting.ts';
import { adoptSession, type AddressConflict, type AddressConflictPolicy } from './adopt-session.ts';
import { findSession } from './find-session.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { classFor, sessionFromClass } from './session-class.ts';
import type { SessionTable } from '../../store/schema.ts';
import { committedOf, lockSession, recordAnomaly, recordOf, writeChange, type CommittedSession } from './session-rows.ts';
import { applyPortRangeReport, newReportIds, type PortRangeOutcome, type PortRangeReportInput } from './port-range-report.ts';

export type { AddressConflictPolicy } from './adopt-session.ts';
export { classFor } from './session-class.ts';

/** What memory knows of a session while it is open (authorized or active). */
export interface OpenSession {
  id: string;
  subscriberId: string | null;
  login: string;
  nasId: string;
  status: 'authorized' | 'active';
  acctSessionId: string | null;
  bindingId: string | null;
  poolId: string | null;
  unit: number | null;
  portKey: string | null;
}

export interface Authorized {
  sessionId: string;
  /** The Class attribute value that ties accounting to this authentication (RFC 2865 §5.25). */
  classValue: string;
  unit: AllocatedUnit | null;
  /** A retried log-in on the same NAS port that got its earlier, never started, authorization back. */
  reused: boolean;
}

export interface AuthorizeInput {
  subscriberId: string;
  login: string;
  nasId: string;
  poolId: string | null;
  nasPort: number | null;
  nasPortId: string | null;
  nasIdentifier: string | null;
  nasIpAddress: string | null;
  callingStationId?: string | null;
  /** The Session-Timeout sent in the Access-Accept: a close without a Stop never charges more. */
  sessionTimeout?: number | null;
  now?: number;
}

export interface AccountingFacts {
  nasId: string;
  login: string | null;
  classValue: string | null;
  acctSessionId: string | null;
  nasIdentifier: string | null;
  nasIpAddress: string | null;
  nasPort: number | null;
  nasPortId: string | null;
  framedAddress: string | null;
  sessionTime: number | null;
  inputOctets: number | null;
  outputOctets: number | null;
  terminateCause: string | null;
  callingStationId?: string | null;
}

export interface AccountingOutcome {
  sessionId: string;
  anomaly: AccountingAnomalyKind | null;
  conflict: AddressConflict | null;
}

export interface SessionServiceOptions {
  addressConflict?: AddressConflictPolicy;
}


/**
 * sqlippool's pool key: what tells a retried log-in from a new one. NAS-Port when the NAS
 * sends it, else NAS-Port-Id, else Calling-Station-Id; without any, no retry is recognised.
 */
export function portKeyOf(input: { nasPort: number | null; nasPortId: string | null; callingStationId?: string | null | undefined }): string | null {
  if (input.nasPort !== null) return `port:${input.nasPort}`;
  if (input.nasPortId) return `port-id:${input.nasPortId}`;
  if (input.callingStationId) return `calling-station:${input.callingStationId}`;
  return null;
}

/** What a Start or Interim-Update also tells about where the session is. */
const nasDetails = (f: AccountingFacts): Partial<SessionTable> => ({
  ...(f.nasPort !== null ? { nas_port: f.nasPort } : {}),
  ...(f.nasIdentifier ? { nas_identifier: f.nasIdentifier } : {}),
  ...(f.callingStationId ? { calling_station_id: f.callingStationId } : {}),
});

const unitOfBinding = (b: Binding): AllocatedUnit => ({ address: b.address, portFirst: b.portFirst ?? null, portLast: b.portLast ?? null, openKey: b.portFirst !== undefined ? `${b.address}:${b.portFirst}` : b.address });

/** The PostgreSQL notification channel a session change is announced on. */
export const SESSION_CHANNEL = 'sideband_sessions';

/**
 * Sessions and address bindings: the seed's session table 300 and its second data set.
 * Every change is written through the group commit, decided inside its transaction on
 * the rows as committed (accounting rules: `protocol/session-accounting.ts`), and becomes
 * visible in memory (pools, resolution index) only after it is durable, so that a reply
 * the NAS sees always describes committed state.
 */
export class SessionService {
  readonly index = new BindingIndex();
  private pools = new Map<string, AddressPool>();
  private open = new Map<string, OpenSession>();
  /** Sessions closed lately, oldest first (see applyRemote). */
  private closed = new Map<string, number>();
  private byAcctId = new Map<string, string>();
  /** Authorizations not yet started, by NAS, port key and subscriber. */
  private pending = new Map<string, string>();
  /** Last unit per (NAS, NAS-Port, subscriber), so a returning subscriber gets it back. */
  private sticky = new Map<string, number>();
  /** One change at a time per NAS port (authorization) or per NAS session (accounting). */
  private readonly queue = new KeyedQueue();
  private readonly policy: AddressConflictPolicy;
  /** This process in the session change log, so that its feed skips its own changes. */
  readonly origin = randomUUID();

  constructor(
    private readonly store: Store,
    private readonly commit: GroupCommit,
    private readonly logger: Logger,
    private readonly holdDownMs: number,
    options: SessionServiceOptions = {},
  ) {
    this.policy = options.addressConflict ?? 'trust-nas';
  }

  /** Rebuilds pools, open sessions and the resolution index from the store. */
  async rebuild(now = Date.now()): Promise<{ bindings: number; openSessions: number }> {
    const db = this.store.db;
    for (const p of await db.selectFrom('pools').selectAll().execute()) {
      if (!this.pools.has(p.id) && !p.cidr.includes(':')) this.pools.set(p.id, new AddressPool(p.name, p.cidr, p.ports_per_block, this.holdDownMs));
    }
    let bindings = 0;
    // Paged by id so that millions of bindings never sit in one result set.
    let after = '';
    for (;;) {
      const rows = await db
        .selectFrom('bindings')
        .innerJoin('sessions', 'sessions.id', 'bindings.session_id')
        .select(['bindings.id', 'bindings.session_id', 'bindings.address', 'bindings.port_first', 'bindings.port_last', 'bindings.start_at', 'bindings.end_at', 'sessions.pool_id', 'sessions.nas_id', 'sessions.nas_port', 'sessions.subscriber_id'])
        .where('bindings.id', '>', after)
        .orderBy('bindings.id')
        .limit(10_000)
        .execute();
      if (rows.length === 0) break;
      for (const b of rows) {
        this.index.add({ id: b.id, sessionId: b.session_id, address: b.address, ...(b.port_first !== null ? { portFirst: b.port_first, portLast: b.port_last! } : {}), start: b.start_at, end: b.end_at });
        const pool = b.pool_id ? this.pools.get(b.pool_id) : undefined;
        const unit = pool?.unitOf(b.address, b.port_first);
        if (pool && unit !== undefined) {
          if (b.end_at === null) pool.markHeld(unit);
          else if (b.end_at + this.holdDownMs > now) {
            pool.markHeld(unit);
            pool.release(unit, now, b.end_at + this.holdDownMs);
          }
          if (b.subscriber_id && b.nas_port !== null) this.sticky.set(`${b.nas_id}|${b.nas_port}|${b.subscriber_id}`, unit);
        }
      }
      bindings += rows.length;
      after = rows[rows.length - 1]!.id;
    }
    const openRows = await db
      .selectFrom('sessions')
      .leftJoin('bindings', (j) => j.onRef('bindings.session_id', '=', 'sessions.id').on('bindings.end_at', 'is', null))
      .select(['sessions.id', 'sessions.subscriber_id', 'sessions.login', 'sessions.nas_id', 'sessions.status', 'sessions.acct_session_id', 'sessions.pool_id', 'sessions.port_key', 'bindings.id as binding_id', 'bindings.address', 'bindings.port_first'])
      .where('sessions.status', '!=', 'closed')
      .execute();
    for (const s of openRows) {
      const pool = s.pool_id ? this.pools.get(s.pool_id) : undefined;
      const unit = pool && s.address ? pool.unitOf(s.address, s.port_first) ?? null : null;
      this.remember({ id: s.id, subscriberId: s.subscriber_id, login: s.login, nasId: s.nas_id, status: s.status as OpenSession['status'], acctSessionId: s.acct_session_id, bindingId: s.binding_id, poolId: s.pool_id, unit, portKey: s.port_key });
    }
    return { bindings, openSessions: this.open.size };
  }

  private remember(s: OpenSession): void {
    this.open.set(s.id, s);
    if (s.acctSessionId) this.byAcctId.set(`${s.nasId}|${s.acctSessionId}`, s.id);
    if (s.status === 'authorized' && s.portKey && s.subscriberId) this.pending.set(`${s.nasId}|${s.portKey}|${s.subscriberId}`, s.id);
  }

  private forget(s: OpenSession): void {
    this.open.delete(s.id);
    if (s.acctSessionId && this.byAcctId.get(`${s.nasId}|${s.acctSessionId}`) === s.id) this.byAcctId.delete(`${s.nasId}|${s.acctSessionId}`);
    if (s.portKey && s.subscriberId && this.pending.get(`${s.nasId}|${s.portKey}|${s.subscriberId}`) === s.id) this.pending.delete(`${s.nasId}|${s.portKey}|${s.subscriberId}`);
  }

  /**
   * Makes memory follow a committed session: its binding in the resolution index (added,
   * closed, or shortened by a late Stop), its pool unit, and the open-session maps.
   * Idempotent, so a transaction run twice (see GroupCommit) leaves memory right.
   */
  private reflect(s: CommittedSession, now: number): void {
    if (s.binding) {
      const have = this.index.get(s.binding.id);
      if (!have) this.index.add(s.binding);
      else if (have.end !== s.binding.end && s.binding.end !== null) {
        if (have.end === null) this.index.close(s.binding.id, s.binding.end);
        else {
          this.index.remove(s.binding.id);
          this.index.add(s.binding);
        }
      }
    }
    const known = this.open.get(s.id);
    const pool = s.poolId ? this.pools.get(s.poolId) : undefined;
    if (s.status === 'closed') {
      this.closed.set(s.id, now);
      // Bounded: a feed read is at most seconds old, so only recent closures matter.
      if (this.closed.size > 100_000) this.closed.delete(this.closed.keys().next().value!);
      if (!known) return;
      if (pool && known.unit !== null) pool.release(known.unit, now);
      this.forget(known);
      return;
    }
    // A binding a NAT released (port-range-report.ts) holds no unit while the session goes on.
    const unit = pool && s.binding && s.binding.end === null ? pool.unitOf(s.binding.address, s.binding.portFirst ?? null) ?? null : null;
    // A NAT moved the session to another block: the old binding ends where the new one begins.
    if (known?.bindingId && s.binding && known.bindingId !== s.binding.id) this.index.close(known.bindingId, s.binding.start);
    if (known) this.forget(known);
    if (known && pool && known.unit !== unit) {
      if (known.unit !== null) pool.release(known.unit, now);
      if (unit !== null) pool.markHeld(unit);
    } else if (!known && pool && unit !== null) pool.markHeld(unit);
    this.remember({ id: s.id, subscriberId: s.subscriberId, login: s.login, nasId: s.nasId, status: s.status, acctSessionId: s.acctSessionId, bindingId: s.binding?.id ?? null, poolId: s.poolId, unit, portKey: s.portKey });
  }

  /**
   * On PostgreSQL, records in the change log that these sessions (or their bindings)
   * changed, in the transaction that changed them, and wakes the other gateways' feeds:
   * NOTIFY is delivered at commit, never for a transaction rolled back. Run twice by a
   * retried transaction it only writes a second row, which followers apply harmlessly.
   */
  private async noteChanged(tx: Tx, sessionIds: string[]): Promise<void> {
    if (this.store.dialect !== 'postgres' || sessionIds.length === 0) return;
    const at = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
    await tx.insertInto('session_changes').values(sessionIds.map((id) => ({ session_id: id, origin: this.origin, at }))).execute();
    await sql`select pg_notify(${SESSION_CHANNEL}, '')`.execute(tx);
  }

  /**
   * Makes memory follow a session another gateway changed, as read from the store after
   * its commit. Besides what reflect does, a session this process never saw open (opened
   * and closed elsewhere between two reads) still leaves its unit resting until its
   * binding's end plus the hold-down, unless someone holds the unit again by now.
   */
  async applyRemote(s: CommittedSession, now = Date.now()): Promise<void> {
    const pool = s.poolId ? await this.poolFor(s.poolId) : undefined;
    // A row read before this gateway closed the session must not reopen it in memory:
    // closed is final (docs/radius.md), so an older view of an open session is stale.
    if (s.status !== 'closed' && this.closed.has(s.id)) return;
    const known = this.open.has(s.id);
    this.reflect(s, now);
    const b = s.binding;
    if (known || s.status !== 'closed' || !pool || !b || b.end === null) return;
    const restUntil = b.end + this.holdDownMs;
    const unit = pool.unitOf(b.address, b.portFirst ?? null);
    if (unit === undefined || restUntil <= now || this.index.resolve(b.address, now, b.portFirst) !== undefined) return;
    pool.markHeld(unit);
    pool.release(unit, now, restUntil);
  }

  get openSessions(): number {
    return this.open.size;
  }

  poolUsage(): Array<{ pool: string; size: number; held: number }> {
    return [...this.pools.values()].map((p) => ({ pool: p.name, size: p.size, held: p.held }));
  }

  /** A pool removed by an operator (empty by then): it no longer answers for its addresses. */
  forgetPool(poolId: string): void {
    const pool = this.pools.get(poolId);
    if (pool && pool.held === 0) this.pools.delete(poolId);
  }

  private async poolFor(poolId: string): Promise<AddressPool | undefined> {
    let pool = this.pools.get(poolId);
    if (!pool) {
      const row = await this.store.db.selectFrom('pools').selectAll().where('id', '=', poolId).executeTakeFirst();
      // Another request may have built it while this one read the row: use that one, or
      // two pools would hand out the same addresses.
      pool = this.pools.get(poolId);
      if (pool) return pool;
      if (row && !row.cidr.includes(':')) {
        pool = new AddressPool(row.name, row.cidr, row.ports_per_block, this.holdDownMs);
        this.pools.set(row.id, pool);
      }
    }
    return pool;
  }

  private poolIdOf(address: string): string | null {
    for (const [id, p] of this.pools) if (p.unitOf(address, null) !== undefined) return id;
    return null;
  }

  /**
   * Opens a session for an accepted log-in and, when the NAS draws from a pool, allocates
   * and durably binds an address before returning. A log-in retried on the same NAS port
   * (same subscriber) before its earlier authorization started gets that authorization
   * back, address and Class — as sqlippool finds the lease by its pool key — so that a NAS
   * or client retrying cannot drain the pool. Throws AAA_POOL_EXHAUSTED.
   */
  async authorize(input: AuthorizeInput): Promise<Authorized> {
    const now = input.now ?? Date.now();
    const portKey = portKeyOf(input);
    if (portKey === null) return this.allocate(input, now, null);
    return this.queue.run(`authorize|${input.nasId}|${portKey}|${input.subscriberId}`, async () => (await this.reusePending(input, portKey, now, false)) ?? this.allocate(input, now, portKey));
  }

  /**
   * The unstarted authorization for this NAS, port key and subscriber, renewed. Memory
   * knows this gateway's; another gateway's is found in the store only after the unique
   * index refused a second one, which keeps the store off the hot path.
   */
  private async reusePending(input: AuthorizeInput, portKey: string, now: number, lookInStore: boolean): Promise<Authorized | null> {
    const key = `${input.nasId}|${portKey}|${input.subscriberId}`;
    const id =
      this.pending.get(key) ??
      (lookInStore
        ? (await this.store.db.selectFrom('sessions').select('id').where('nas_id', '=', input.nasId).where('port_key', '=', portKey).where('subscriber_id', '=', input.subscriberId).where('status', '=', 'authorized').executeTakeFirst())?.id
        : undefined);
    if (!id) return null;
    const committed = await this.commit.run(async (tx) => {
      const done = await tx
        .updateTable('sessions')
        .set({ last_seen_at: now, session_timeout: input.sessionTimeout ?? null, calling_station_id: input.callingStationId ?? null, nas_identifier: input.nasIdentifier, nas_ip_address: input.nasIpAddress })
        .where('id', '=', id)
        .where('status', '=', 'authorized')
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) === 0) return null;
      await this.noteChanged(tx, [id]);
      const row = await tx.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return committedOf(row, await tx.selectFrom('bindings').selectAll().where('session_id', '=', id).executeTakeFirst());
    });
    if (!committed) {
      // It started (or closed) meanwhile: this is a new log-in.
      if (this.pending.get(key) === id) this.pending.delete(key);
      return null;
    }
    this.reflect(committed, now);
    return { sessionId: id, classValue: classFor(id), unit: committed.binding ? unitOfBinding(committed.binding) : null, reused: true };
  }

  private async allocate(input: AuthorizeInput, now: number, portKey: string | null): Promise<Authorized> {
    const pool = input.poolId ? await this.poolFor(input.poolId) : undefined;
    const stickyKey = input.nasPort !== null ? `${input.nasId}|${input.nasPort}|${input.subscriberId}` : null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const unitIndex = pool ? pool.take(now, attempt === 0 && stickyKey ? this.sticky.get(stickyKey) : undefined) : undefined;
      if (pool && unitIndex === undefined) throw new SidebandError('AAA_POOL_EXHAUSTED', `Pool ${pool.name} has no free address.`);
      const unit = pool && unitIndex !== undefined ? pool.describe(unitIndex) : null;
      const sessionId = newId('ses', now);
      const bindingId = unit ? newId('bnd', now) : null;
      const row = {
        id: sessionId, subscriber_id: input.subscriberId, login: input.login, nas_id: input.nasId, nas_identifier: input.nasIdentifier, nas_ip_address: input.nasIpAddress,
        nas_port: input.nasPort, nas_port_id: input.nasPortId, acct_session_id: null, class: classFor(sessionId), framed_address: unit?.address ?? null, pool_id: input.poolId,
        status: 'authorized' as const, authorized_at: now, started_at: null, ended_at: null, last_seen_at: now, session_time: 0, input_octets: 0, output_octets: 0, terminate_cause: null,
        charged_seconds: 0, session_timeout: input.sessionTimeout ?? null, closed_by: null, port_key: portKey, calling_station_id: input.callingStationId ?? null,
      };
      const binding = unit && bindingId ? { id: bindingId, session_id: sessionId, address: unit.address, port_first: unit.portFirst, port_last: unit.portLast, start_at: now, end_at: null, open_key: unit.openKey } : undefined;
      try {
        const restingUntil = await this.commit.run(async (tx) => {
          const rest = binding ? await this.restingElsewhere(tx, binding.address, binding.port_first, input.subscriberId, now) : null;
          if (rest !== null) return rest;
          await tx.insertInto('sessions').values(row).execute();
          if (binding) await tx.insertInto('bindings').values(binding).execute();
          await this.noteChanged(tx, [sessionId]);
          return null;
        });
        if (restingUntil !== null && pool && unitIndex !== undefined) {
          // Bound, or in hold-down, by another gateway's session this one has not heard of
          // yet: it stays held (the feed brings its close) or rests until its hold-down ends.
          if (restingUntil !== Infinity) pool.release(unitIndex, now, restingUntil);
          continue;
        }
      } catch (e) {
        if (!isUniqueViolation(e)) {
          if (pool && unitIndex !== undefined) pool.giveBack(unitIndex);
          throw e;
        }
        // The group commit runs a transaction again after a lost connection; meeting its
        // own rows means the first COMMIT landed. Never a second unit for this session.
        const landed = await this.store.db.selectFrom('sessions').select('id').where('id', '=', sessionId).executeTakeFirst();
        if (!landed) {
          // A concurrent retry of this log-in (another gateway) holds the port: take that one.
          const other = portKey ? await this.reusePending(input, portKey, now, true) : null;
          if (other) {
            if (pool && unitIndex !== undefined) pool.giveBack(unitIndex);
            return other;
          }
          // Another gateway sharing the database holds this unit: leave it marked held
          // here too, and try the next one.
          if (pool && unitIndex !== undefined) continue;
          throw e;
        }
      }
      this.reflect(committedOf(row, binding), now);
      if (stickyKey && unitIndex !== undefined) this.sticky.set(stickyKey, unitIndex);
      return { sessionId, classValue: classFor(sessionId), unit, reused: false };
    }
    throw new SidebandError('AAA_POOL_EXHAUSTED', 'Every address tried was taken by another gateway.');
  }

  /**
   * On PostgreSQL, where other gateways bind from the same pools: whether the unit is
   * bound, or was released less than the hold-down ago, by a session this gateway's
   * memory does not know of yet (its feed lags by a notification). Returns until when it
   * rests (Infinity while bound), or null when it is free. An open binding the other
   * gateway is closing at this moment is still seen open: its commit is not visible yet.
   * SQLite has one gateway, whose memory is the truth.
   */
  private async restingElsewhere(tx: Tx, address: string, portFirst: number | null, subscriberId: string, now: number): Promise<number | null> {
    if (this.store.dialect !== 'postgres') return null;
    // Bindings of one unit never overlap, so the latest begun is its holder or last holder:
    // one row from the (address, start_at) index, however long the unit's history.
    let q = tx.selectFrom('bindings').innerJoin('sessions', 'sessions.id', 'bindings.session_id').select(['bindings.end_at', 'sessions.subscriber_id']).where('bindings.address', '=', address);
    q = portFirst === null ? q.where('bindings.port_first', 'is', null) : q.where('bindings.port_first', '=', portFirst);
    const last = await q.orderBy('bindings.start_at', 'desc').limit(1).executeTakeFirst();
    if (!last) return null;
    if (last.end_at === null) return Infinity;
    // The hold-down keeps an address from the next subscriber; its last holder may have it back (stickiness).
    if (last.end_at + this.holdDownMs <= now || last.subscriber_id === subscriberId) return null;
    return last.end_at + this.holdDownMs;
  }


  /**
   * Applies an Accounting Start, Interim-Update or Stop dated `at` (the NAS's time) and
   * received at `receivedAt`, by the rules of `protocol/session-accounting.ts`; a session
   * nobody authenticated is adopted (`adopt-session.ts`). Requests about one NAS session
   * are applied one at a time, so duplicates racing each other cannot both adopt it.
   */
  async account(kind: AccountingReport['kind'], f: AccountingFacts, at: number, receivedAt = at): Promise<AccountingOutcome> {
    const key = `account|${f.nasId}|${f.acctSessionId ?? sessionFromClass(f.classValue) ?? f.framedAddress ?? ''}`;
    return this.queue.run(key, () => this.accountNow(kind, f, at, receivedAt));
  }

  private async accountNow(kind: AccountingReport['kind'], f: AccountingFacts, at: number, receivedAt: number): Promise<AccountingOutcome> {
    const report: AccountingReport = { kind, at, receivedAt, acctSessionId: f.acctSessionId, sessionTime: f.sessionTime, inputOctets: f.inputOctets, outputOctets: f.outputOctets, terminateCause: f.terminateCause };
    const id = await findSession(this.store.db, { open: this.open, byAcctId: this.byAcctId, index: this.index }, f, report);
    const ids = { sessionId: newId('ses', at), bindingId: newId('bnd', at), anomalyId: newId('anom', receivedAt) };
    const done = await this.commit.run(async (tx): Promise<{ outcome: AccountingOutcome; committed: CommittedSession[] }> => {
      const current = id ? await lockSession(tx, this.store.dialect, id) : undefined;
      if (current) {
        const change = applyAccounting(recordOf(current.row), report, current.binding?.start_at ?? null, current.binding?.end_at ?? null);
        const extra = change.next && change.next.status !== 'closed' ? nasDetails(f) : {};
        await writeChange(tx, current, change, extra, receivedAt);
        await this.noteChanged(tx, [current.row.id]);
        if (change.anomaly) {
          await recordAnomaly(tx, { id: ids.anomalyId, kind: change.anomaly, nasId: f.nasId, sessionId: current.row.id, acctSessionId: f.acctSessionId, eventAt: at, receivedAt, detail: { status: current.row.status, closedBy: current.row.closed_by, sessionTime: f.sessionTime } });
        }
        return { outcome: { sessionId: current.row.id, anomaly: change.anomaly, conflict: null }, committed: [committedOf(current.row, current.binding, change)] };
      }
      const adopted = await adoptSession(tx, { report, facts: f, ...ids, policy: this.policy, dialect: this.store.dialect, poolIdOf: (a) => this.poolIdOf(a) });
      await this.noteChanged(tx, adopted.committed.map((c) => c.id));
      const self = adopted.committed.at(-1)!;
      return { outcome: { sessionId: self.id, anomaly: adopted.conflict ? 'address-conflict' : adopted.anomaly, conflict: adopted.conflict }, committed: adopted.committed };
    });
    for (const s of done.committed) this.reflect(s, receivedAt);
    return done.outcome;
  }

  /**
   * Applies an IP-Port-Range (RFC 8045) a NAT reported in accounting for this session
   * (`port-range-report.ts`); the resolution index and the pool follow what committed.
   */
  async reportPortRange(input: Omit<PortRangeReportInput, 'reportId' | 'bindingId'>): Promise<PortRangeOutcome> {
    const ids = newReportIds(input.receivedAt, input.at);
    const done = await this.commit.run(async (tx) => {
      const applied = await applyPortRangeReport(tx, this.store.dialect, { ...input, ...ids });
      if (applied.committed) await this.noteChanged(tx, [input.sessionId]);
      return applied;
    });
    if (done.ended) this.index.close(done.ended.id, done.ended.end);
    if (done.committed) this.reflect(done.committed, input.receivedAt);
    return done.result;
  }

  /** Accounting Start; returns the session's id. */
  async start(f: AccountingFacts, at = Date.now(), receivedAt = at): Promise<string> {
    return (await this.account('start', f, at, receivedAt)).sessionId;
  }

  async interim(f: AccountingFacts, at = Date.now(), receivedAt = at): Promise<string> {
    return (await this.account('interim', f, at, receivedAt)).sessionId;
  }

  async stop(f: AccountingFacts, at = Date.now(), receivedAt = at): Promise<string> {
    return (await this.account('stop', f, at, receivedAt)).sessionId;
  }

  /**
   * Accounting-On/Off at `at` (the NAS's time): the NAS restarted, so every session it had
   * begun by then is over (RFC 2866 §5.1; FreeRADIUS closes those with AcctStartTime at or
   * before the request's time). Sessions begun later are a new boot's and stay.
   */
  async closeAllOf(nasId: string, cause: string, at = Date.now()): Promise<number> {
    const rows = await this.store.db
      .selectFrom('sessions')
      .select('id')
      .where('nas_id', '=', nasId)
      .where('status', '!=', 'closed')
      .where((eb) => eb.or([eb('started_at', '<=', at), eb.and([eb('started_at', 'is', null), eb('authorized_at', '<=', at)])]))
      .execute();
    return this.closeMany(rows.map((r) => r.id), at, 'nas-restart', cause, Math.max(at, Date.now()));
  }

  /**
   * Closes sessions whose NAS has said nothing for `staleMs`; returns how many. Each is
   * charged only what its NAS reported, never past its Session-Timeout, and its terminate
   * cause says so (`protocol/prepaid-charge.ts`).
   */
  async sweep(staleMs: number, now = Date.now()): Promise<number> {
    const rows = await this.store.db.selectFrom('sessions').select('id').where('status', '!=', 'closed').where('last_seen_at', '<', now - staleMs).execute();
    return this.closeMany(rows.map((r) => r.id), now, 'sweeper', null, now);
  }

  /** `releasedAt` is our clock's now: hold-down counts from it. */
  private async closeMany(ids: string[], at: number, closedBy: Exclude<ClosedBy, 'stop'>, cause: string | null, releasedAt: number): Promise<number> {
    let closed = 0;
    // Queued together, so the group commit writes them in a few transactions.
    for (let i = 0; i < ids.length; i += 256) {
      const results = await Promise.all(
        ids.slice(i, i + 256).map((id) =>
          this.commit.run(async (tx) => {
            const current = await lockSession(tx, this.store.dialect, id);
            if (!current) return null;
            // Already closed (by another gateway, or by this job's first run whose COMMIT
            // landed before its connection dropped): memory must still follow the row.
            if (current.row.status === 'closed') return { session: committedOf(current.row, current.binding), closedNow: false };
            const change = closeWithoutStop(recordOf(current.row), at, closedBy, cause, current.binding?.start_at ?? null);
            await writeChange(tx, current, change, {}, at);
            await this.noteChanged(tx, [id]);
            return { session: committedOf(current.row, current.binding, change), closedNow: true };
          }),
        ),
      );
      for (const r of results) {
        if (!r) continue;
        this.reflect(r.session, releasedAt);
        if (r.closedNow) closed++;
      }
    }
    return closed;
  }

  /** Who held `address` (and `port`, under CGNAT) at `at`; the store's truth via the index. */
  resolve(address: string, at: number, port?: number): ReturnType<BindingIndex['resolve']> {
    return this.index.resolve(address, at, port);
  }

  isShared(address: string, at: number): boolean {
    return this.index.isPortBlocked(address, at);
  }

  /** For tests and the sweeper's log: is this address currently bound? */
  holderOf(address: string): string | undefined {
    return Number.isNaN(ipv4ToInt(address)) ? undefined : this.index.openAt(address)?.sessionId;
  }
}
