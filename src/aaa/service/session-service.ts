import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { BindingIndex } from '../../core/resolution/binding-index.ts';
import type { Binding } from '../../core/resolution/binding.ts';
import { newId } from '../../core/identity/ids.ts';
import { isHostIpv4 } from '../../core/network/host-address.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { GroupCommit } from '../../store/group-commit.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import { AddressPool, ipv4ToInt, type AllocatedUnit } from '../allocation/address-pool.ts';
import type { PrefixPlace } from '../allocation/prefix-claim.ts';
import type { Ipv6Prefix } from '../../core/network/ipv6-prefix.ts';
import type { AccountingAnomalyKind } from '../protocol/accounting-anomaly.ts';
import { applyAccounting, closeWithoutStop, type AccountingReport, type ClosedBy } from '../protocol/session-accounting.ts';
import { followReportedAddress, type AddressChange, type AddressConflict, type AddressConflictPolicy } from './address-claim.ts';
import { adoptSession } from './adopt-session.ts';
import { clashHolders } from './clash-holders.ts';
import { findSession } from './find-session.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { classFor, sessionFromClass } from './session-class.ts';
import type { BindingTable, PrefixBindingKind, PrefixBindingTable } from '../../store/schema.ts';
import { bindReported, prefixRestingElsewhere, reportedPrefixes, type UnboundPrefix } from './prefix-bindings.ts';
import { COMMITTED_COLUMNS, committedLocked, committedOf, insertBinding, insertSession, lockSession, prefixesOf, prefixesOfSession, recordAnomaly, recordOf, writeChange, type CommittedColumns, type CommittedSession, type NasDetails } from './session-rows.ts';
import { applyPortRangeReport, newReportIds, type PortRangeOutcome, type PortRangeReportInput } from './port-range-report.ts';
import { OldestFirst } from '../../core/memory/oldest-first.ts';

/**
 * `status != 'closed'` with the value written into the query, not bound: the partial index
 * over open sessions (migration 0022) then serves it on PostgreSQL also under a generic
 * plan, which a named prepared statement may get after its first executions.
 */
const CLOSED = sql.lit<'closed'>('closed');

export type { AddressConflictPolicy } from './address-claim.ts';
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
  /** The IPv6 pool units its open prefix bindings hold. */
  prefixUnits: PoolUnit[];
}

interface PoolUnit {
  poolId: string;
  unit: number;
}

export interface Authorized {
  sessionId: string;
  /** The Class attribute value that ties accounting to this authentication (RFC 2865 §5.25). */
  classValue: string;
  unit: AllocatedUnit | null;
  /** The Framed-IPv6-Prefix and Delegated-IPv6-Prefix allocated, when the NAS draws from IPv6 pools. */
  framedIpv6Prefix: AllocatedUnit | null;
  delegatedIpv6Prefix: AllocatedUnit | null;
  /** A retried log-in on the same NAS port that got its earlier, never started, authorization back. */
  reused: boolean;
}

export interface AuthorizeInput {
  subscriberId: string;
  login: string;
  nasId: string;
  poolId: string | null;
  /** The IPv6 pools a Framed-IPv6-Prefix (RFC 3162) and a Delegated-IPv6-Prefix (RFC 4818) are drawn from. */
  framedIpv6PoolId?: string | null;
  delegatedIpv6PoolId?: string | null;
  /** Framed-Interface-Id (RFC 3162 §2.2) from the Access-Request, hex. */
  framedInterfaceId?: string | null;
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
  /** What the NAS reports of IPv6: Framed-IPv6-Address (RFC 6911), Framed-IPv6-Prefix (RFC 3162), Delegated-IPv6-Prefix (RFC 4818), Framed-Interface-Id, as text. */
  framedIpv6Address?: string | null;
  framedIpv6Prefix?: string | null;
  delegatedIpv6Prefix?: string | null;
  framedInterfaceId?: string | null;
}

export interface AccountingOutcome {
  sessionId: string;
  anomaly: AccountingAnomalyKind | null;
  conflict: AddressConflict | null;
  /** A known session's NAS reported another IPv4 address than the one bound (address-claim.ts). */
  addressChange: AddressChange | null;
  /** Reported IPv6 prefixes that did not become bindings. */
  unboundPrefixes: UnboundPrefix[];
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
const nasDetails = (f: AccountingFacts): NasDetails => ({
  ...(f.nasPort !== null ? { nas_port: f.nasPort } : {}),
  ...(f.nasIdentifier ? { nas_identifier: f.nasIdentifier } : {}),
  ...(f.callingStationId ? { calling_station_id: f.callingStationId } : {}),
  ...(f.framedInterfaceId ? { framed_interface_id: f.framedInterfaceId } : {}),
});

const unitOfBinding = (b: Binding): AllocatedUnit => ({
  address: b.address,
  portFirst: b.portFirst ?? null,
  portLast: b.portLast ?? null,
  prefixLength: b.prefixLength ?? null,
  openKey: b.prefixLength !== undefined ? `${b.address}/${b.prefixLength}` : b.portFirst !== undefined ? `${b.address}:${b.portFirst}` : b.address,
});

/** A unit taken from an IPv6 pool for an Access-Accept. */
interface PrefixTake {
  kind: PrefixBindingKind;
  poolId: string;
  pool: AddressPool;
  index: number;
  unit: AllocatedUnit;
}

/** The allocator of a pool row; an IPv6 range without a unit length (made before 0015) allocates nothing. */
function poolOfRow(row: { name: string; cidr: string; ports_per_block: number | null; prefix_length: number | null }, holdDownMs: number): AddressPool | undefined {
  if (row.cidr.includes(':') && row.prefix_length === null) return undefined;
  return new AddressPool(row.name, row.cidr, row.ports_per_block, holdDownMs, row.prefix_length);
}

/** The PostgreSQL notification channel a session change is announced on. */
export const SESSION_CHANNEL = 'sideband_sessions';

/** A retried log-in renews its unstarted authorization (reusePending): the row as renewed, or none when it started meanwhile. */
const renewPending = new PreparedStatement<CommittedColumns>(
  `update sessions set last_seen_at = ?, session_timeout = ?, calling_station_id = ?, nas_identifier = ?, nas_ip_address = ?
   where id = ? and status = 'authorized' returning ${COMMITTED_COLUMNS}`,
);
const bindingOfSession = new PreparedStatement<BindingTable>('select * from bindings where session_id = ? limit 1');
/** renewPending and the rows it reads after, as one statement (PostgreSQL only). */
const renewPendingWithRows = new PreparedStatement<{ session: CommittedColumns; binding: BindingTable | null; prefixes: PrefixBindingTable[] }>(
  `with s as (
     update sessions set last_seen_at = ?, session_timeout = ?, calling_station_id = ?, nas_identifier = ?, nas_ip_address = ?
     where id = ? and status = 'authorized' returning ${COMMITTED_COLUMNS})
   select row_to_json(s) as session,
     (select row_to_json(b) from bindings b where b.session_id = s.id limit 1) as binding,
     (select coalesce(json_agg(p order by p.start_at), '[]'::json) from prefix_bindings p where p.session_id = s.id) as prefixes
   from s`,
);

/**
 * The change-log rows of one transaction and its NOTIFY, in one statement (PostgreSQL
 * only). The payload is the writer's origin, so that its own feed need not wake for it.
 */
const noteSessionChanges = new PreparedStatement(
  `with wake as (select pg_notify(?, ?)) insert into session_changes (session_id, origin, at)
   select id, ?, (extract(epoch from clock_timestamp()) * 1000)::bigint from unnest(?::text[]) as id, wake`,
);

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
  private closed = new OldestFirst<string, number>();
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
  /** Sessions each open transaction changed, written to the change log as it ends (noteChanged). */
  private readonly changedIn = new WeakMap<Tx, string[]>();

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
      const pool = this.pools.has(p.id) ? undefined : poolOfRow(p, this.holdDownMs);
      if (pool) this.pools.set(p.id, pool);
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
        let pool = b.pool_id ? this.pools.get(b.pool_id) : undefined;
        let unit = pool?.unitOf(b.address, b.port_first);
        if (unit === undefined) {
          // A session the NAS moved (address-claim.ts) held addresses outside the pool it is in now.
          const other = this.poolIdOf(b.address);
          pool = other ? this.pools.get(other) : undefined;
          unit = pool?.unitOf(b.address, b.port_first);
        }
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
    bindings += await this.rebuildPrefixes(now);
    const openRows = await db
      .selectFrom('sessions')
      .leftJoin('bindings', (j) => j.onRef('bindings.session_id', '=', 'sessions.id').on('bindings.end_at', 'is', null))
      .select(['sessions.id', 'sessions.subscriber_id', 'sessions.login', 'sessions.nas_id', 'sessions.status', 'sessions.acct_session_id', 'sessions.pool_id', 'sessions.port_key', 'bindings.id as binding_id', 'bindings.address', 'bindings.port_first'])
      .where('sessions.status', '!=', CLOSED)
      .execute();
    for (const s of openRows) {
      const pool = s.pool_id ? this.pools.get(s.pool_id) : undefined;
      const unit = pool && s.address ? pool.unitOf(s.address, s.port_first) ?? null : null;
      this.remember({ id: s.id, subscriberId: s.subscriber_id, login: s.login, nasId: s.nas_id, status: s.status as OpenSession['status'], acctSessionId: s.acct_session_id, bindingId: s.binding_id, poolId: s.pool_id, unit, portKey: s.port_key, prefixUnits: [] });
    }
    const openPrefixes = await db.selectFrom('prefix_bindings').select(['session_id', 'network', 'prefix_length']).where('end_at', 'is', null).execute();
    for (const p of openPrefixes) this.open.get(p.session_id)?.prefixUnits.push(...this.prefixUnitsOf(p.network, p.prefix_length));
    return { bindings, openSessions: this.open.size };
  }

  /** The IPv6 half of `rebuild`: every prefix binding into the index, its unit held or resting. */
  private async rebuildPrefixes(now: number): Promise<number> {
    let count = 0;
    let after = '';
    for (;;) {
      const rows = await this.store.db
        .selectFrom('prefix_bindings')
        .innerJoin('sessions', 'sessions.id', 'prefix_bindings.session_id')
        .select(['prefix_bindings.id', 'prefix_bindings.session_id', 'prefix_bindings.network', 'prefix_bindings.prefix_length', 'prefix_bindings.start_at', 'prefix_bindings.end_at', 'sessions.nas_id', 'sessions.nas_port', 'sessions.subscriber_id'])
        .where('prefix_bindings.id', '>', after)
        .orderBy('prefix_bindings.id')
        .limit(10_000)
        .execute();
      if (rows.length === 0) return count;
      for (const b of rows) {
        this.index.add({ id: b.id, sessionId: b.session_id, address: b.network, ...(b.prefix_length < 128 ? { prefixLength: b.prefix_length } : {}), start: b.start_at, end: b.end_at });
        for (const held of this.prefixUnitsOf(b.network, b.prefix_length)) {
          const pool = this.pools.get(held.poolId)!;
          if (b.end_at === null) pool.markHeld(held.unit);
          else if (b.end_at + this.holdDownMs > now) {
            pool.markHeld(held.unit);
            pool.release(held.unit, now, b.end_at + this.holdDownMs);
          }
          if (b.subscriber_id && b.nas_port !== null && pool.prefixLength === b.prefix_length) this.sticky.set(`${b.nas_id}|${b.nas_port}|${b.subscriber_id}|${held.poolId}`, held.unit);
        }
      }
      count += rows.length;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** The IPv6 pool units a prefix of any length overlaps (`AddressPool.unitsTouching`). */
  private prefixUnitsOf(network: string, length: number): PoolUnit[] {
    for (const [poolId, p] of this.pools) {
      const units = p.isIpv6 ? p.unitsTouching(network, length) : [];
      if (units.length > 0) return units.map((unit) => ({ poolId, unit }));
    }
    return [];
  }

  /** Builds the IPv6 pools added since start that no authorization has drawn from yet, so that a NAS's own prefixes from them are recognised. */
  private async loadIpv6Pools(): Promise<void> {
    const rows = await this.store.db.selectFrom('pools').select('id').where('prefix_length', 'is not', null).execute();
    for (const r of rows) if (!this.pools.has(r.id)) await this.poolFor(r.id);
  }

  /** The range and unit of the IPv6 pool whose range covers the prefix (a NAS's own allocation from it is ours to bind). */
  private ipv6PlaceOf(prefix: Ipv6Prefix): PrefixPlace | undefined {
    for (const p of this.pools.values()) if (p.isIpv6 && p.covers(prefix.text)) return p.place;
    return undefined;
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
    for (const b of s.history ?? []) this.reflectBinding(b);
    if (s.binding) this.reflectBinding(s.binding);
    for (const p of s.prefixes) this.reflectBinding(p);
    const known = this.open.get(s.id);
    const pool = s.poolId ? this.pools.get(s.poolId) : undefined;
    // The IPv6 units its open prefixes hold now; those it held before and no longer are released.
    const prefixUnits = s.status === 'closed' ? [] : s.prefixes.filter((p) => p.end === null).flatMap((p) => this.prefixUnitsOf(p.address, p.prefixLength ?? 128));
    const same = (a: PoolUnit, b: PoolUnit): boolean => a.poolId === b.poolId && a.unit === b.unit;
    for (const u of known?.prefixUnits ?? []) if (!prefixUnits.some((n) => same(n, u))) this.pools.get(u.poolId)?.release(u.unit, now);
    for (const u of prefixUnits) if (!known?.prefixUnits.some((o) => same(o, u))) this.pools.get(u.poolId)?.markHeld(u.unit);
    if (s.status === 'closed') {
      this.closed.set(s.id, now);
      // Bounded: a feed read is at most seconds old, so only recent closures matter.
      if (this.closed.size > 100_000) this.closed.deleteOldest();
      if (!known) return;
      if (known.unit !== null) (known.poolId ? this.pools.get(known.poolId) : undefined)?.release(known.unit, now);
      this.forget(known);
      return;
    }
    // A binding a NAT released (port-range-report.ts) holds no unit while the session goes on.
    const unit = pool && s.binding && s.binding.end === null ? pool.unitOf(s.binding.address, s.binding.portFirst ?? null) ?? null : null;
    // A NAT moved the session to another block, or its NAS to another address: the old binding
    // ends where the new one begins (unless its own end came first, from the session's history).
    if (known?.bindingId && s.binding && known.bindingId !== s.binding.id && this.index.get(known.bindingId)?.end === null) this.index.close(known.bindingId, s.binding.start);
    if (known) this.forget(known);
    if (known) {
      // The NAS may have moved the session into another pool's address (address-claim.ts).
      const before = known.poolId ? this.pools.get(known.poolId) : undefined;
      if (before !== pool || known.unit !== unit) {
        if (known.unit !== null) before?.release(known.unit, now);
        if (unit !== null) pool?.markHeld(unit);
      }
    } else if (pool && unit !== null) pool.markHeld(unit);
    this.remember({ id: s.id, subscriberId: s.subscriberId, login: s.login, nasId: s.nasId, status: s.status, acctSessionId: s.acctSessionId, bindingId: s.binding?.id ?? null, poolId: s.poolId, unit, portKey: s.portKey, prefixUnits });
  }

  /** A committed binding into the resolution index: added, closed, or shortened by a late Stop. */
  private reflectBinding(b: Binding): void {
    const have = this.index.get(b.id);
    if (!have) this.index.add(b);
    else if (have.end !== b.end && b.end !== null) {
      if (have.end === null) this.index.close(b.id, b.end);
      else {
        this.index.remove(b.id);
        this.index.add(b);
      }
    }
  }

  /**
   * On PostgreSQL, records in the change log that these sessions (or their bindings)
   * changed, in the transaction that changed them, and wakes the other gateways' feeds:
   * NOTIFY is delivered at commit, never for a transaction rolled back. Run twice by a
   * retried transaction it only writes a second row, which followers apply harmlessly.
   */
  private async noteChanged(tx: Tx, sessionIds: string[]): Promise<void> {
    if (this.store.dialect !== 'postgres' || sessionIds.length === 0) return;
    let changed = this.changedIn.get(tx);
    if (!changed) {
      this.changedIn.set(tx, (changed = []));
      // Once per transaction, after all its jobs: one round trip for the whole group commit.
      this.commit.atEnd(tx, 'session-changes', () => noteSessionChanges.run(tx, 'postgres', [SESSION_CHANNEL, this.origin, this.origin, changed!]).then(() => undefined));
    }
    changed.push(...sessionIds);
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
    if (known || s.status !== 'closed') return;
    const b = s.binding;
    if (pool && b && b.end !== null) this.restUnit(pool, pool.unitOf(b.address, b.portFirst ?? null), b, now);
    for (const p of s.prefixes) {
      if (p.end === null) continue;
      for (const held of this.prefixUnitsOf(p.address, p.prefixLength ?? 128)) this.restUnit(this.pools.get(held.poolId)!, held.unit, p, now);
    }
  }

  /** Leaves the unit of an ended binding resting until its hold-down is over, unless someone holds it again. */
  private restUnit(pool: AddressPool, unit: number | undefined, b: Binding, now: number): void {
    const restUntil = b.end! + this.holdDownMs;
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
      pool = row ? poolOfRow(row, this.holdDownMs) : undefined;
      if (pool) this.pools.set(poolId, pool);
    }
    return pool;
  }

  private poolIdOf(address: string): string | null {
    for (const [id, p] of this.pools) if (!p.isIpv6 && p.unitOf(address, null) !== undefined) return id;
    return null;
  }

  /** Whether the address is in a pool a NAT shares out in port blocks. */
  private sharedAddress(address: string): boolean {
    const id = this.poolIdOf(address);
    return id !== null && this.pools.get(id)!.portsPerBlock !== null;
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
    const dialect = this.store.dialect;
    const committed = await this.commit.run(async (tx) => {
      const renewal = [now, input.sessionTimeout ?? null, input.callingStationId ?? null, input.nasIdentifier, input.nasIpAddress, id];
      if (dialect === 'postgres') {
        // One round trip: on PostgreSQL each statement is one, and they are what a renewal waits for.
        const renewed = await renewPendingWithRows.first(tx, dialect, renewal);
        if (!renewed) return null;
        await this.noteChanged(tx, [id]);
        return committedOf(renewed.session, renewed.binding ?? undefined, undefined, renewed.prefixes);
      }
      const row = await renewPending.first(tx, dialect, renewal);
      if (!row) return null;
      await this.noteChanged(tx, [id]);
      return committedOf(row, await bindingOfSession.first(tx, dialect, [id]), undefined, await prefixesOfSession.all(tx, dialect, [id]));
    });
    if (!committed) {
      // It started (or closed) meanwhile: this is a new log-in.
      if (this.pending.get(key) === id) this.pending.delete(key);
      return null;
    }
    this.reflect(committed, now);
    const prefixOf = (kind: PrefixBindingKind): AllocatedUnit | null => {
      const row = committed.prefixes.find((p) => p.end === null && p.kind === kind);
      return row ? unitOfBinding(row) : null;
    };
    return { sessionId: id, classValue: classFor(id), unit: committed.binding ? unitOfBinding(committed.binding) : null, framedIpv6Prefix: prefixOf('framed-ipv6-prefix'), delegatedIpv6Prefix: prefixOf('delegated-ipv6-prefix'), reused: true };
  }

  private async allocate(input: AuthorizeInput, now: number, portKey: string | null): Promise<Authorized> {
    const pool = input.poolId ? await this.poolFor(input.poolId) : undefined;
    const prefixPools: Array<{ kind: PrefixBindingKind; poolId: string; pool: AddressPool }> = [];
    for (const [kind, poolId] of [['framed-ipv6-prefix', input.framedIpv6PoolId], ['delegated-ipv6-prefix', input.delegatedIpv6PoolId]] as const) {
      const p = poolId ? await this.poolFor(poolId) : undefined;
      if (p?.isIpv6 && poolId) prefixPools.push({ kind, poolId, pool: p });
    }
    const stickyKey = input.nasPort !== null ? `${input.nasId}|${input.nasPort}|${input.subscriberId}` : null;
    const exhausted = async (message: string): Promise<Authorized> => {
      // A retry of this very log-in that another gateway answered holds a unit already: its
      // Accept stands, and this answer must not contradict it with a Reject.
      const other = portKey && this.store.dialect === 'postgres' ? await this.reusePending(input, portKey, now, true) : null;
      if (other) return other;
      throw new SidebandError('AAA_POOL_EXHAUSTED', message);
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const unitIndex = pool ? pool.take(now, attempt === 0 && stickyKey ? this.sticky.get(stickyKey) : undefined) : undefined;
      if (pool && unitIndex === undefined) return exhausted(`Pool ${pool.name} has no free address.`);
      const unit = pool && unitIndex !== undefined ? pool.describe(unitIndex) : null;
      const takes: PrefixTake[] = [];
      for (const p of prefixPools) {
        const index = p.pool.take(now, attempt === 0 && stickyKey ? this.sticky.get(`${stickyKey}|${p.poolId}`) : undefined);
        if (index === undefined) {
          if (pool && unitIndex !== undefined) pool.giveBack(unitIndex);
          for (const t of takes) t.pool.giveBack(t.index);
          return exhausted(`Pool ${p.pool.name} has no free prefix.`);
        }
        takes.push({ ...p, index, unit: p.pool.describe(index) });
      }
      const sessionId = newId('ses', now);
      const bindingId = unit ? newId('bnd', now) : null;
      const row = {
        id: sessionId, subscriber_id: input.subscriberId, login: input.login, nas_id: input.nasId, nas_identifier: input.nasIdentifier, nas_ip_address: input.nasIpAddress,
        nas_port: input.nasPort, nas_port_id: input.nasPortId, acct_session_id: null, class: classFor(sessionId), framed_address: unit?.address ?? null, pool_id: input.poolId,
        status: 'authorized' as const, authorized_at: now, started_at: null, ended_at: null, last_seen_at: now, session_time: 0, input_octets: 0, output_octets: 0, terminate_cause: null,
        charged_seconds: 0, session_timeout: input.sessionTimeout ?? null, closed_by: null, port_key: portKey, calling_station_id: input.callingStationId ?? null, framed_interface_id: input.framedInterfaceId ?? null,
        adoption_key: null,
      };
      const binding = unit && bindingId ? { id: bindingId, session_id: sessionId, address: unit.address, port_first: unit.portFirst, port_last: unit.portLast, start_at: now, end_at: null, open_key: unit.openKey } : undefined;
      const prefixRows = takes.map((t) => ({ id: newId('bnd', now), session_id: sessionId, kind: t.kind, network: t.unit.address, prefix_length: t.unit.prefixLength!, start_at: now, end_at: null, open_key: t.unit.openKey }));
      // Which unit, if any, rests elsewhere: -1 the IPv4 unit, else the index in `takes`.
      let resting: { which: number; until: number } | null = null;
      try {
        resting = await this.commit.run(async (tx, rerun) => {
          // A run after a COMMIT that may have landed: its own session there is the answer.
          // (Else the unit would look held by another, and the log-in get a second one.)
          if (rerun && (await tx.selectFrom('sessions').select('id').where('id', '=', sessionId).executeTakeFirst())) return null;
          const rest = binding ? await this.restingElsewhere(tx, binding.address, binding.port_first, input.subscriberId, now) : null;
          if (rest !== null) return { which: -1, until: rest };
          if (this.store.dialect === 'postgres') {
            for (const [i, t] of takes.entries()) {
              const until = await prefixRestingElsewhere(tx, t.unit.address, t.unit.prefixLength!, input.subscriberId, now, this.holdDownMs);
              if (until !== null) return { which: i, until };
            }
          }
          await insertSession.run(tx, this.store.dialect, row);
          if (binding) await insertBinding.run(tx, this.store.dialect, binding);
          if (prefixRows.length > 0) await tx.insertInto('prefix_bindings').values(prefixRows).execute();
          await this.noteChanged(tx, [sessionId]);
          return null;
        });
        if (resting !== null) {
          // Bound, or in hold-down, by another gateway's session this one has not heard of
          // yet: that unit stays held (the feed brings its close) or rests until its
          // hold-down ends; the others are free again.
          const { which, until } = resting;
          const settle = (p: AddressPool, index: number, isIt: boolean): void => {
            if (!isIt) p.giveBack(index);
            else if (until !== Infinity) p.release(index, now, until);
          };
          if (pool && unitIndex !== undefined) settle(pool, unitIndex, which === -1);
          for (const [i, t] of takes.entries()) settle(t.pool, t.index, which === i);
          continue;
        }
      } catch (e) {
        const giveBackAll = (): void => {
          if (pool && unitIndex !== undefined) pool.giveBack(unitIndex);
          for (const t of takes) t.pool.giveBack(t.index);
        };
        if (!isUniqueViolation(e)) {
          giveBackAll();
          throw e;
        }
        // Each look below may fail in its turn (a lost connection, a lock timeout): the units
        // taken for this attempt go back then too, not held by nobody until a restart.
        const settled = await this.afterClash(input, portKey, now, sessionId, unit, takes).catch((inner: unknown) => {
          giveBackAll();
          throw inner;
        });
        if (settled.kind === 'other') {
          giveBackAll();
          return settled.authorized;
        }
        if (settled.kind === 'retry') {
          // Another gateway sharing the database holds one of these units: memory learned its
          // holder (clash-holders.ts), so the unit is released with it; the others, and one
          // whose holder closed meanwhile, are free again. Try the next ones.
          if (pool && unitIndex !== undefined && unit && !settled.keep(unit.openKey)) pool.giveBack(unitIndex);
          for (const t of takes) if (!settled.keep(t.unit.openKey)) t.pool.giveBack(t.index);
          continue;
        }
        if (settled.kind === 'unknown') throw e;
        // 'landed': the group commit ran the transaction again after a lost connection and
        // met its own rows, so the first COMMIT landed. Never a second unit for this session.
      }
      this.reflect(committedOf(row, binding, undefined, prefixRows), now);
      if (stickyKey && unitIndex !== undefined) this.sticky.set(stickyKey, unitIndex);
      for (const t of takes) if (stickyKey) this.sticky.set(`${stickyKey}|${t.poolId}`, t.index);
      const taken = (kind: PrefixBindingKind): AllocatedUnit | null => takes.find((t) => t.kind === kind)?.unit ?? null;
      return { sessionId, classValue: classFor(sessionId), unit, framedIpv6Prefix: taken('framed-ipv6-prefix'), delegatedIpv6Prefix: taken('delegated-ipv6-prefix'), reused: false };
    }
    return exhausted('Every address tried was taken by another gateway.');
  }

  /** What a log-in's unique violation meant: its own COMMIT landed, another gateway's retry of it holds the port, or units another gateway holds. */
  private async afterClash(
    input: AuthorizeInput,
    portKey: string | null,
    now: number,
    sessionId: string,
    unit: AllocatedUnit | null,
    takes: Array<{ unit: AllocatedUnit }>,
  ): Promise<{ kind: 'landed' } | { kind: 'other'; authorized: Authorized } | { kind: 'retry'; keep: (openKey: string) => boolean } | { kind: 'unknown' }> {
    if (await this.store.db.selectFrom('sessions').select('id').where('id', '=', sessionId).executeTakeFirst()) return { kind: 'landed' };
    // A concurrent retry of this log-in (another gateway) holds the port: take that one.
    const other = portKey ? await this.reusePending(input, portKey, now, true) : null;
    if (other) return { kind: 'other', authorized: other };
    if (!unit && takes.length === 0) return { kind: 'unknown' };
    const holders = await clashHolders(this.store, unit ? [unit.openKey] : [], takes.map((t) => t.unit.openKey));
    for (const h of new Set(holders.values())) await this.applyRemote(h, now);
    return { kind: 'retry', keep: (key) => this.open.has(holders.get(key)?.id ?? '') };
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
  async account(kind: AccountingReport['kind'], reported: AccountingFacts, at: number, receivedAt = at): Promise<AccountingOutcome> {
    // 0.0.0.0 (before IPCP or DHCP settled) and RFC 2865's "NAS/user selects" values name no host: no address was reported.
    const f = reported.framedAddress !== null && !isHostIpv4(reported.framedAddress) ? { ...reported, framedAddress: null } : reported;
    const key = `account|${f.nasId}|${f.acctSessionId ?? sessionFromClass(f.classValue) ?? f.framedAddress ?? ''}`;
    return this.queue.run(key, () => this.accountNow(kind, f, at, receivedAt));
  }

  private async accountNow(kind: AccountingReport['kind'], f: AccountingFacts, at: number, receivedAt: number): Promise<AccountingOutcome> {
    try {
      return await this.accountOnce(kind, f, at, receivedAt);
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // Another gateway bound the address or prefix this report claims between this one's
      // read and its write (the binding's open key): nothing of this run committed, and
      // read again, the claim meets that binding and the conflict rule decides, instead of
      // the NAS waiting for an answer to retransmit.
      this.logger.debug({ err: e, nas: f.nasId, acctSessionId: f.acctSessionId }, 'accounting met a binding written meanwhile; applied again');
      return this.accountOnce(kind, f, at, receivedAt);
    }
  }

  private async accountOnce(kind: AccountingReport['kind'], f: AccountingFacts, at: number, receivedAt: number): Promise<AccountingOutcome> {
    const report: AccountingReport = { kind, at, receivedAt, acctSessionId: f.acctSessionId, sessionTime: f.sessionTime, inputOctets: f.inputOctets, outputOctets: f.outputOctets, terminateCause: f.terminateCause };
    const id = await findSession(this.store.db, this.store.dialect, { open: this.open, byAcctId: this.byAcctId, index: this.index }, f, report);
    const ids = { sessionId: newId('ses', at), bindingId: newId('bnd', at), anomalyId: newId('anom', receivedAt) };
    const changeIds = { bindingId: newId('bnd', at), anomalyId: newId('anom', receivedAt) };
    const prefixes = reportedPrefixes(f);
    const prefixIds = prefixes.map(() => newId('bnd', at));
    if (prefixes.length > 0) await this.loadIpv6Pools();
    const ipv6PlaceOf = (prefix: Ipv6Prefix): PrefixPlace | undefined => this.ipv6PlaceOf(prefix);
    // A subscriber's reports gathered together share a transaction (GroupCommit.run): a Stop's charge locks the subscriber, then its other sessions.
    const affinity = (id ? this.open.get(id)?.login : undefined) ?? f.login ?? undefined;
    const done = await this.commit.run(async (tx, rerun): Promise<{ outcome: AccountingOutcome; committed: CommittedSession[] }> => {
      let current = id ? await lockSession(tx, this.store.dialect, id, kind === 'stop') : undefined;
      if (!current) {
        const adopted = await adoptSession(tx, { report, facts: f, ...ids, rerun, policy: this.policy, dialect: this.store.dialect, poolIdOf: (a) => this.poolIdOf(a), shared: (a) => this.sharedAddress(a), prefixes, prefixIds, ipv6PlaceOf });
        // Another gateway adopted it a moment ago (the NAS failed over): the report is about that session.
        if ('existing' in adopted) current = await lockSession(tx, this.store.dialect, adopted.existing, kind === 'stop');
        else {
          await this.noteChanged(tx, adopted.committed.map((c) => c.id));
          const self = adopted.committed.at(-1)!;
          return { outcome: { sessionId: self.id, anomaly: adopted.conflict ? 'address-conflict' : adopted.anomaly, conflict: adopted.conflict, addressChange: null, unboundPrefixes: adopted.unboundPrefixes }, committed: adopted.committed };
        }
      }
      if (!current) throw new SidebandError('INTERNAL', 'The session holding an adoption key was not found in the same transaction.');
      const change = applyAccounting(recordOf(current.row), report, current.binding?.start_at ?? null, current.binding?.end_at ?? null);
      const extra = change.next && change.next.status !== 'closed' ? nasDetails(f) : {};
      await writeChange(tx, current, change, extra, receivedAt);
      await this.noteChanged(tx, [current.row.id]);
      if (change.anomaly) {
        await recordAnomaly(tx, { id: ids.anomalyId, kind: change.anomaly, nasId: f.nasId, sessionId: current.row.id, acctSessionId: f.acctSessionId, eventAt: at, receivedAt, detail: { status: current.row.status, closedBy: current.row.closed_by, sessionTime: f.sessionTime } });
      }
      const open = (change.next?.status ?? current.row.status) !== 'closed';
      const followed = await followReportedAddress(tx, current, open, { dialect: this.store.dialect, policy: this.policy, poolIdOf: (a) => this.poolIdOf(a), shared: (a) => this.sharedAddress(a), ...changeIds, report, facts: f, rerun: rerun !== false });
      if (followed.closed.length > 0) await this.noteChanged(tx, followed.closed.map((c) => c.id));
      // What the NAS reports of IPv6 becomes the open session's bindings (a closing one takes no new prefix).
      const unboundPrefixes = open && prefixes.length > 0 ? await bindReported(tx, { sessionId: current.row.id, held: current.prefixes, reported: prefixes, start: at, end: null, placeOf: ipv6PlaceOf, ids: prefixIds }) : [];
      const held = open && prefixes.length > 0 ? { ...followed.held, prefixes: await prefixesOf(tx, current.row.id) } : followed.held;
      return {
        outcome: { sessionId: current.row.id, anomaly: change.anomaly, conflict: followed.conflict, addressChange: followed.change, unboundPrefixes },
        committed: [...followed.closed, committedLocked(held, change)],
      };
    }, affinity);
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
      .where('status', '!=', CLOSED)
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
    const rows = await this.store.db.selectFrom('sessions').select('id').where('status', '!=', CLOSED).where('last_seen_at', '<', now - staleMs).execute();
    return this.closeMany(rows.map((r) => r.id), now, 'sweeper', null, now);
  }

  /** `releasedAt` is our clock's now: hold-down counts from it. */
  private async closeMany(ids: string[], at: number, closedBy: Exclude<ClosedBy, 'stop'>, cause: string | null, releasedAt: number): Promise<number> {
    let closed = 0;
    let failure: unknown;
    // Queued together, so the group commit writes them in a few transactions.
    for (let i = 0; i < ids.length; i += 256) {
      // Every close that committed is reflected, and every chunk tried, even when one close
      // fails (a row another gateway held past lock_timeout): memory must follow the store.
      const settled = await Promise.allSettled(
        ids.slice(i, i + 256).map((id) =>
          this.commit.run(async (tx) => {
            const current = await lockSession(tx, this.store.dialect, id, true);
            if (!current) return null;
            // Already closed (by another gateway, or by this job's first run whose COMMIT
            // landed before its connection dropped): memory must still follow the row.
            if (current.row.status === 'closed') return { session: committedLocked(current), closedNow: false };
            const change = closeWithoutStop(recordOf(current.row), at, closedBy, cause, current.binding?.start_at ?? null);
            await writeChange(tx, current, change, {}, at);
            await this.noteChanged(tx, [id]);
            return { session: committedLocked(current, change), closedNow: true };
          }, this.open.get(id)?.login),
        ),
      );
      for (const s of settled) {
        if (s.status === 'rejected') {
          failure ??= s.reason;
          continue;
        }
        if (!s.value) continue;
        this.reflect(s.value.session, releasedAt);
        if (s.value.closedNow) closed++;
      }
    }
    if (failure !== undefined) throw failure;
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
