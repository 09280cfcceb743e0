import { BindingIndex } from '../../core/resolution/binding-index.ts';
import { newId } from '../../core/identity/ids.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { GroupCommit } from '../../store/group-commit.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import { AddressPool, ipv4ToInt, type AllocatedUnit } from '../allocation/address-pool.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';

/** What the store and the allocator know of a session while it is open. */
interface OpenSession {
  id: string;
  subscriberId: string | null;
  nasId: string;
  acctSessionId: string | null;
  bindingId: string | null;
  poolId: string | null;
  unit: number | null;
  address: string | null;
}

export interface Authorized {
  sessionId: string;
  /** The Class attribute value that ties accounting to this authentication (RFC 2865 §5.25). */
  classValue: string;
  unit: AllocatedUnit | null;
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
}

const CLASS_PREFIX = 'sideband:';

export const classFor = (sessionId: string): string => `${CLASS_PREFIX}${sessionId}`;
const sessionFromClass = (value: string | null): string | null => (value?.startsWith(CLASS_PREFIX) ? value.slice(CLASS_PREFIX.length) : null);

/**
 * Sessions and address bindings: the seed's session table 300 and its second data set.
 * Every change is written through the group commit and becomes visible in memory (pools,
 * resolution index) only after it is durable, so that a reply the NAS sees always
 * describes committed state.
 */
export class SessionService {
  readonly index = new BindingIndex();
  private pools = new Map<string, AddressPool>();
  private open = new Map<string, OpenSession>();
  private byAcctId = new Map<string, string>();
  /** Last unit per (NAS, NAS-Port, subscriber), so a returning subscriber gets it back. */
  private sticky = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly commit: GroupCommit,
    private readonly logger: Logger,
    private readonly holdDownMs: number,
  ) {}

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
        .select(['bindings.id', 'bindings.session_id', 'bindings.address', 'bindings.port_first', 'bindings.port_last', 'bindings.start_at', 'bindings.end_at', 'sessions.pool_id', 'sessions.nas_id', 'sessions.nas_port', 'sessions.subscriber_id', 'sessions.acct_session_id'])
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
      .select(['sessions.id', 'sessions.subscriber_id', 'sessions.nas_id', 'sessions.acct_session_id', 'sessions.pool_id', 'sessions.framed_address', 'bindings.id as binding_id', 'bindings.port_first'])
      .where('sessions.status', '!=', 'closed')
      .execute();
    for (const s of openRows) {
      const pool = s.pool_id ? this.pools.get(s.pool_id) : undefined;
      const unit = pool && s.framed_address ? pool.unitOf(s.framed_address, s.port_first) ?? null : null;
      this.remember({ id: s.id, subscriberId: s.subscriber_id, nasId: s.nas_id, acctSessionId: s.acct_session_id, bindingId: s.binding_id, poolId: s.pool_id, unit, address: s.framed_address });
    }
    return { bindings, openSessions: this.open.size };
  }

  private remember(s: OpenSession): void {
    this.open.set(s.id, s);
    if (s.acctSessionId) this.byAcctId.set(`${s.nasId}|${s.acctSessionId}`, s.id);
  }

  private forget(s: OpenSession): void {
    this.open.delete(s.id);
    if (s.acctSessionId) this.byAcctId.delete(`${s.nasId}|${s.acctSessionId}`);
  }

  get openSessions(): number {
    return this.open.size;
  }

  poolUsage(): Array<{ pool: string; size: number; held: number }> {
    return [...this.pools.values()].map((p) => ({ pool: p.name, size: p.size, held: p.held }));
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

  /**
   * Opens a session for an accepted log-in and, when the NAS draws from a pool, allocates
   * and durably binds an address before returning. Throws AAA_POOL_EXHAUSTED.
   */
  async authorize(input: { subscriberId: string; login: string; nasId: string; poolId: string | null; nasPort: number | null; nasPortId: string | null; nasIdentifier: string | null; nasIpAddress: string | null; now?: number }): Promise<Authorized> {
    const now = input.now ?? Date.now();
    const pool = input.poolId ? await this.poolFor(input.poolId) : undefined;
    const stickyKey = input.nasPort !== null ? `${input.nasId}|${input.nasPort}|${input.subscriberId}` : null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const unitIndex = pool ? pool.take(now, attempt === 0 && stickyKey ? this.sticky.get(stickyKey) : undefined) : undefined;
      if (pool && unitIndex === undefined) throw new SidebandError('AAA_POOL_EXHAUSTED', `Pool ${pool.name} has no free address.`);
      const unit = pool && unitIndex !== undefined ? pool.describe(unitIndex) : null;
      const sessionId = newId('ses', now);
      const bindingId = unit ? newId('bnd', now) : null;
      try {
        await this.commit.run(async (tx) => {
          await tx
            .insertInto('sessions')
            .values({
              id: sessionId, subscriber_id: input.subscriberId, login: input.login, nas_id: input.nasId, nas_identifier: input.nasIdentifier, nas_ip_address: input.nasIpAddress,
              nas_port: input.nasPort, nas_port_id: input.nasPortId, acct_session_id: null, class: classFor(sessionId), framed_address: unit?.address ?? null, pool_id: input.poolId,
              status: 'authorized', authorized_at: now, started_at: null, ended_at: null, last_seen_at: now, session_time: 0, input_octets: 0, output_octets: 0, terminate_cause: null, charged_seconds: 0,
            })
            .execute();
          if (unit && bindingId) {
            await tx.insertInto('bindings').values({ id: bindingId, session_id: sessionId, address: unit.address, port_first: unit.portFirst, port_last: unit.portLast, start_at: now, end_at: null, open_key: unit.openKey }).execute();
          }
        });
      } catch (e) {
        // Another gateway sharing the database holds this unit: leave it marked held here
        // too, and try the next one.
        if (pool && unitIndex !== undefined && isUniqueViolation(e)) continue;
        if (pool && unitIndex !== undefined) pool.giveBack(unitIndex);
        throw e;
      }
      if (unit && bindingId) this.index.add({ id: bindingId, sessionId, address: unit.address, ...(unit.portFirst !== null ? { portFirst: unit.portFirst, portLast: unit.portLast! } : {}), start: now, end: null });
      if (stickyKey && unitIndex !== undefined) this.sticky.set(stickyKey, unitIndex);
      this.remember({ id: sessionId, subscriberId: input.subscriberId, nasId: input.nasId, acctSessionId: null, bindingId, poolId: input.poolId, unit: unitIndex ?? null, address: unit?.address ?? null });
      return { sessionId, classValue: classFor(sessionId), unit };
    }
    throw new SidebandError('AAA_POOL_EXHAUSTED', 'Every address tried was taken by another gateway.');
  }

  /** Finds the session an Accounting-Request is about: by Class, else by Acct-Session-Id. */
  private async find(f: AccountingFacts): Promise<OpenSession | null> {
    const byClass = sessionFromClass(f.classValue);
    const id = (byClass && this.open.has(byClass) ? byClass : null) ?? (f.acctSessionId ? this.byAcctId.get(`${f.nasId}|${f.acctSessionId}`) : undefined);
    if (id) return this.open.get(id) ?? null;
    // Another gateway may have authorized it; the store knows.
    let q = this.store.db
      .selectFrom('sessions')
      .leftJoin('bindings', (j) => j.onRef('bindings.session_id', '=', 'sessions.id').on('bindings.end_at', 'is', null))
      .select(['sessions.id', 'sessions.subscriber_id', 'sessions.nas_id', 'sessions.acct_session_id', 'sessions.pool_id', 'sessions.framed_address', 'bindings.id as binding_id', 'bindings.port_first'])
      .where('sessions.status', '!=', 'closed');
    if (byClass) q = q.where('sessions.id', '=', byClass);
    else if (f.acctSessionId) q = q.where('sessions.nas_id', '=', f.nasId).where('sessions.acct_session_id', '=', f.acctSessionId);
    else return null;
    const row = await q.executeTakeFirst();
    if (!row) return null;
    const pool = row.pool_id ? this.pools.get(row.pool_id) : undefined;
    const s: OpenSession = { id: row.id, subscriberId: row.subscriber_id, nasId: row.nas_id, acctSessionId: row.acct_session_id, bindingId: row.binding_id, poolId: row.pool_id, unit: pool && row.framed_address ? pool.unitOf(row.framed_address, row.port_first) ?? null : null, address: row.framed_address };
    this.remember(s);
    return s;
  }

  /**
   * A session the NAS reports but this server never authenticated (a NAS that allocates
   * its own addresses): recorded with its binding all the same, closing any binding that
   * still claims the address, since the NAS has just handed it out.
   */
  private async adopt(f: AccountingFacts, now: number, status: 'active' | 'closed'): Promise<OpenSession> {
    const subscriber = f.login ? await this.store.db.selectFrom('subscribers').select('id').where('login', '=', f.login).executeTakeFirst() : undefined;
    const sessionId = newId('ses', now);
    const address = f.framedAddress;
    const bindingId = address ? newId('bnd', now) : null;
    let pool: AddressPool | undefined;
    let poolId: string | null = null;
    for (const [id, p] of this.pools) {
      if (address && p.unitOf(address, null) !== undefined) {
        pool = p;
        poolId = id;
      }
    }
    const displaced = address ? this.index.openAt(address) : undefined;
    await this.commit.run(async (tx) => {
      if (address) await tx.updateTable('bindings').set({ end_at: now, open_key: null }).where('open_key', '=', address).execute();
      await tx
        .insertInto('sessions')
        .values({
          id: sessionId, subscriber_id: subscriber?.id ?? null, login: f.login ?? '', nas_id: f.nasId, nas_identifier: f.nasIdentifier, nas_ip_address: f.nasIpAddress, nas_port: f.nasPort, nas_port_id: f.nasPortId,
          acct_session_id: f.acctSessionId, class: f.classValue, framed_address: address, pool_id: poolId, status, authorized_at: null, started_at: now, ended_at: status === 'closed' ? now : null,
          last_seen_at: now, session_time: f.sessionTime ?? 0, input_octets: f.inputOctets ?? 0, output_octets: f.outputOctets ?? 0, terminate_cause: status === 'closed' ? f.terminateCause : null, charged_seconds: 0,
        })
        .execute();
      if (address && bindingId) {
        const start = status === 'closed' && f.sessionTime ? now - f.sessionTime * 1000 : now;
        await tx.insertInto('bindings').values({ id: bindingId, session_id: sessionId, address, port_first: null, port_last: null, start_at: start, end_at: status === 'closed' ? now : null, open_key: status === 'closed' ? null : address }).execute();
      }
    });
    // A clock stepped back before the displaced binding's start must not undo the write.
    if (displaced) {
      try {
        this.index.close(displaced.id, Math.max(now, displaced.start));
      } catch (e) {
        this.logger.warn({ err: e, binding: displaced.id }, 'could not close the displaced binding in the index');
      }
    }
    const unit = pool && address ? pool.unitOf(address, null) ?? null : null;
    if (address && bindingId) this.index.add({ id: bindingId, sessionId, address, start: status === 'closed' && f.sessionTime ? now - f.sessionTime * 1000 : now, end: status === 'closed' ? now : null });
    const s: OpenSession = { id: sessionId, subscriberId: subscriber?.id ?? null, nasId: f.nasId, acctSessionId: f.acctSessionId, bindingId, poolId, unit, address };
    if (pool && unit !== null) {
      pool.markHeld(unit);
      if (status === 'closed') pool.release(unit, now);
    }
    if (status === 'active') this.remember(s);
    return s;
  }

  async start(f: AccountingFacts, now = Date.now()): Promise<string> {
    const s = await this.find(f);
    if (!s) return (await this.adopt(f, now, 'active')).id;
    await this.commit.run(async (tx) => {
      await tx
        .updateTable('sessions')
        .set({ status: 'active', started_at: now, last_seen_at: now, acct_session_id: f.acctSessionId, ...(f.nasPort !== null ? { nas_port: f.nasPort } : {}), ...(f.nasIdentifier ? { nas_identifier: f.nasIdentifier } : {}) })
        .where('id', '=', s.id)
        .execute();
    });
    if (f.acctSessionId && s.acctSessionId !== f.acctSessionId) {
      this.forget(s);
      s.acctSessionId = f.acctSessionId;
      this.remember(s);
    }
    return s.id;
  }

  async interim(f: AccountingFacts, now = Date.now()): Promise<string> {
    const s = await this.find(f);
    // RFC 5080 §2.2.2 lets an Interim-Update stand in for a lost Start.
    if (!s) return (await this.adopt(f, now, 'active')).id;
    await this.commit.run(async (tx) => {
      await tx.updateTable('sessions').set({ status: 'active', last_seen_at: now, ...this.usage(f) }).where('id', '=', s.id).execute();
    });
    return s.id;
  }

  private usage(f: AccountingFacts): { session_time?: number; input_octets?: number; output_octets?: number } {
    return {
      ...(f.sessionTime !== null ? { session_time: f.sessionTime } : {}),
      ...(f.inputOctets !== null ? { input_octets: f.inputOctets } : {}),
      ...(f.outputOctets !== null ? { output_octets: f.outputOctets } : {}),
    };
  }

  async stop(f: AccountingFacts, now = Date.now()): Promise<string> {
    const s = await this.find(f);
    if (!s) return (await this.adopt(f, now, 'closed')).id;
    await this.commit.run((tx) => this.close(tx, s, now, f.terminateCause, f));
    this.afterClose(s, now);
    return s.id;
  }

  /** Accounting-On/Off: the NAS restarted, so every session it had is over (RFC 2866 §5.1). */
  async closeAllOf(nasId: string, cause: string, now = Date.now()): Promise<number> {
    const rows = await this.store.db.selectFrom('sessions').select('id').where('nas_id', '=', nasId).where('status', '!=', 'closed').execute();
    return this.closeMany(rows.map((r) => r.id), cause, now);
  }

  /** Closes sessions whose NAS has said nothing for `staleMs`; returns how many. */
  async sweep(staleMs: number, now = Date.now()): Promise<number> {
    const rows = await this.store.db.selectFrom('sessions').select('id').where('status', '!=', 'closed').where('last_seen_at', '<', now - staleMs).execute();
    return this.closeMany(rows.map((r) => r.id), 'Sideband-Stale', now);
  }

  private async closeMany(ids: string[], cause: string, now: number): Promise<number> {
    let closed = 0;
    for (const id of ids) {
      const s = await this.find({ nasId: '', login: null, classValue: classFor(id), acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null });
      if (!s) continue;
      await this.commit.run((tx) => this.close(tx, s, now, cause, null));
      this.afterClose(s, now);
      closed++;
    }
    return closed;
  }

  /** Closes the session and its binding and charges prepaid time not yet charged. */
  private async close(tx: Tx, s: OpenSession, now: number, cause: string | null, f: AccountingFacts | null): Promise<void> {
    const row = await tx.selectFrom('sessions').select(['session_time', 'charged_seconds', 'started_at', 'authorized_at']).where('id', '=', s.id).executeTakeFirstOrThrow();
    const sessionTime = f?.sessionTime ?? (row.started_at ? Math.max(row.session_time, Math.floor((now - row.started_at) / 1000)) : row.session_time);
    const charge = Math.max(0, sessionTime - row.charged_seconds);
    await tx
      .updateTable('sessions')
      .set({ status: 'closed', ended_at: now, last_seen_at: now, terminate_cause: cause, session_time: sessionTime, charged_seconds: row.charged_seconds + charge, ...(f ? this.usage(f) : {}) })
      .where('id', '=', s.id)
      .execute();
    await tx.updateTable('bindings').set({ end_at: now, open_key: null }).where('session_id', '=', s.id).where('end_at', 'is', null).execute();
    if (s.subscriberId && charge > 0) {
      await tx
        .updateTable('subscribers')
        .set((eb) => ({ seconds_remaining: eb.case().when('seconds_remaining', '>', charge).then(eb('seconds_remaining', '-', charge)).else(0).end(), updated_at: now }))
        .where('id', '=', s.subscriberId)
        .where('seconds_remaining', 'is not', null)
        .execute();
    }
  }

  private afterClose(s: OpenSession, now: number): void {
    if (s.bindingId) this.index.close(s.bindingId, now);
    const pool = s.poolId ? this.pools.get(s.poolId) : undefined;
    if (pool && s.unit !== null) pool.release(s.unit, now);
    this.forget(s);
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
