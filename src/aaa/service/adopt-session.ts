import type { Dialect, Tx } from '../../store/open-store.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import type { BindingTable, SessionTable } from '../../store/schema.ts';
import type { AccountingAnomalyKind } from '../protocol/accounting-anomaly.ts';
import { chargeAtStop } from '../protocol/prepaid-charge.ts';
import { reportedStart, type AccountingReport } from '../protocol/session-accounting.ts';
import { claimAddress, holdersEndedBy, type AddressConflict, type AddressConflictPolicy } from './address-claim.ts';
import { reportIsAbout, SESSION_SPAN_COLUMNS } from './find-session.ts';
import { bindReported, type BindReported, type ReportedPrefix, type UnboundPrefix } from './prefix-bindings.ts';
import { chargeSubscriber, committedOf, insertBinding, prefixesOf, recordAnomaly, type CommittedSession } from './session-rows.ts';
import type { AccountingFacts } from './session-service.ts';

/** Every column of an adopted session's row but subscriber_id, which the INSERT finds by login. */
const ADOPTED_COLUMNS = [
  'id', 'login', 'nas_id', 'nas_identifier', 'nas_ip_address', 'nas_port', 'nas_port_id', 'acct_session_id', 'class', 'framed_address', 'pool_id', 'status',
  'authorized_at', 'started_at', 'ended_at', 'last_seen_at', 'session_time', 'input_octets', 'output_octets', 'terminate_cause', 'charged_seconds', 'session_timeout', 'closed_by',
  'port_key', 'calling_station_id', 'framed_interface_id', 'adoption_key',
] as const satisfies ReadonlyArray<Exclude<keyof SessionTable, 'subscriber_id'>>;
const BINDING_COLUMNS = ['id', 'session_id', 'address', 'port_first', 'port_last', 'start_at', 'end_at', 'open_key'] as const satisfies ReadonlyArray<keyof BindingTable>;
const list = (columns: readonly string[]): string => columns.map((c) => `"${c}"`).join(', ');
const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
/** No row back when another session holds its adoption key. */
const insertAdopted = new PreparedStatement<{ subscriber_id: string | null }>(
  `insert into sessions (${list(ADOPTED_COLUMNS)}, subscriber_id) values (${marks(ADOPTED_COLUMNS.length)}, (select id from subscribers where login = ?))
   on conflict (adoption_key) where adoption_key is not null do nothing returning subscriber_id`,
);
/**
 * Both inserts only when no binding of the address overlaps [start, end) — the overlap
 * check of bindingsOverlapping — and no session holds the adoption key, in one statement
 * (PostgreSQL); no row back otherwise.
 */
const adoptIfUnheld = new PreparedStatement<{ subscriber_id: string | null }>(
  `with o as (select 1 from bindings where address = ? and start_at < ? and (end_at is null or end_at > ?) limit 1),
   s as (insert into sessions (${list(ADOPTED_COLUMNS)}, subscriber_id)
         select ${marks(ADOPTED_COLUMNS.length)}, (select id from subscribers where login = ?) where not exists (select 1 from o)
         on conflict (adoption_key) where adoption_key is not null do nothing returning subscriber_id),
   b as (insert into bindings (${list(BINDING_COLUMNS)}) select ${marks(BINDING_COLUMNS.length)} from s)
   select subscriber_id from s`,
);
const holderOfKey = new PreparedStatement<Parameters<typeof reportIsAbout>[0] & Pick<SessionTable, 'id'>>(`select id, ${SESSION_SPAN_COLUMNS} from sessions where adoption_key = ?`);
const releaseKey = new PreparedStatement('update sessions set adoption_key = null where id = ? and adoption_key = ?');
/** Times an adoption meets another session's key before it records itself without one. */
const KEY_ATTEMPTS = 3;

/**
 * The adoption key: a NAS session as its NAS names it. Null without an Acct-Session-Id
 * (or an empty one, which findSession does not match either): nothing to match it by.
 */
export const adoptionKeyOf = (f: Pick<AccountingFacts, 'nasId' | 'acctSessionId' | 'login'>): string | null =>
  f.acctSessionId ? JSON.stringify([f.nasId, f.acctSessionId, f.login ?? '']) : null;
export type { AddressConflict, AddressConflictPolicy } from './address-claim.ts';

/** Another gateway adopted the same NAS session first: the report is about that session. */
export interface AdoptedElsewhere {
  existing: string;
}

export interface Adopted {
  anomaly: AccountingAnomalyKind | null;
  conflict: AddressConflict | null;
  /** The holders closed by `trust-nas` first, then the adopted session. */
  committed: CommittedSession[];
  unboundPrefixes: UnboundPrefix[];
}

export interface AdoptInput {
  report: AccountingReport;
  facts: AccountingFacts;
  sessionId: string;
  bindingId: string;
  anomalyId: string;
  policy: AddressConflictPolicy;
  dialect: Dialect;
  /** The group commit runs this transaction again after a failure that may have followed its COMMIT. */
  rerun?: boolean;
  /** The pool an address belongs to, when it is one of ours. */
  poolIdOf: (address: string) => string | null;
  /** Whether the address is a NAT's, shared out in port blocks (never bound whole). */
  shared: (address: string) => boolean;
  /** The IPv6 prefixes the NAS reports, bound as `bindReported` says, with ids chosen beforehand. */
  prefixes: ReportedPrefix[];
  prefixIds: string[];
  ipv6PlaceOf: BindReported['placeOf'];
}

/**
 * Records a session the NAS reports but no Access-Accept of ours began (a NAS that
 * allocates its own addresses, or a session whose authentication another system did),
 * dated by the report: a Start at its time, an Interim-Update or a Stop at its time less
 * its Acct-Session-Time (FreeRADIUS inserts the radacct row the same way). A Stop records
 * it already closed.
 *
 * Its Framed-IP-Address becomes a binding — from the session's start, or from the end of
 * another session's hold of the address that has ended since — unless another session's
 * binding claims the address over the same time. That conflict is recorded with both
 * sessions and the policy decides: `trust-nas` ends the live holders' bindings where the new one starts
 * (the NAS has handed the address out again, so their sessions are over) and binds the
 * address from the holders' last sign of life at the earliest (a claim dated back does not
 * rewrite what resolution answered for that time); `refuse` leaves the holders alone and
 * records the new session without a binding. A session reported as already over never
 * ends a live one, and is recorded without a binding when it overlaps any other hold.
 *
 * Its NAS, Acct-Session-Id and login are a unique key (`adoption_key`): when a NAS that
 * failed over sent the same report to another gateway, which adopted the session in the
 * meantime, the INSERT meets that row (on PostgreSQL it waits for the other's COMMIT) and
 * nothing is written: the answer names that session, which the report is then applied to.
 * A key held by an earlier session that the report is not about (a NAS that reuses its
 * Acct-Session-Ids) passes to the new one.
 *
 * Safe to run twice: a session id found already written is a transaction that committed.
 */
export async function adoptSession(tx: Tx, input: AdoptInput): Promise<Adopted | AdoptedElsewhere> {
  const { report: r, facts: f } = input;
  // Only a rerun can meet its own rows: the ids are new, chosen before the first run.
  const again = input.rerun !== false ? await tx.selectFrom('sessions').selectAll().where('id', '=', input.sessionId).executeTakeFirst() : undefined;
  if (again) {
    const binding = await tx.selectFrom('bindings').selectAll().where('session_id', '=', again.id).executeTakeFirst();
    // The holders its first run closed: memory has not heard of them either.
    const closed = binding ? await holdersEndedBy(tx, input.dialect, binding) : [];
    return { anomaly: null, conflict: null, committed: [...closed, committedOf(again, binding, undefined, await prefixesOf(tx, again.id))], unboundPrefixes: [] };
  }
  const closed = r.kind === 'stop';
  const start = r.kind === 'start' ? r.at : reportedStart(r);
  const end = closed ? Math.max(r.at, start) : null;
  const sessionTime = r.sessionTime ?? (end !== null ? Math.floor((end - start) / 1000) : 0);
  const charge = closed ? chargeAtStop(sessionTime, 0) : 0;
  const anomaly: AccountingAnomalyKind | null = r.kind === 'interim' ? 'interim-without-start' : r.kind === 'stop' ? 'stop-without-start' : null;
  const address = f.framedAddress;

  const row = {
    id: input.sessionId, subscriber_id: null as string | null, login: f.login ?? '', nas_id: f.nasId, nas_identifier: f.nasIdentifier, nas_ip_address: f.nasIpAddress, nas_port: f.nasPort,
    nas_port_id: f.nasPortId, acct_session_id: f.acctSessionId, class: f.classValue, framed_address: address, pool_id: address ? input.poolIdOf(address) : null,
    status: closed ? ('closed' as const) : ('active' as const), authorized_at: null, started_at: start, ended_at: end, last_seen_at: r.receivedAt, session_time: sessionTime,
    input_octets: r.inputOctets ?? 0, output_octets: r.outputOctets ?? 0, terminate_cause: closed ? r.terminateCause : null, charged_seconds: charge,
    session_timeout: null, closed_by: closed ? ('stop' as const) : null, port_key: null, calling_station_id: f.callingStationId ?? null, framed_interface_id: f.framedInterfaceId ?? null,
    adoption_key: adoptionKeyOf(f),
  };
  const bindingFrom = (from: number, a: string): BindingTable => ({ id: input.bindingId, session_id: input.sessionId, address: a, port_first: null, port_last: null, start_at: from, end_at: end, open_key: closed ? null : a });
  // The subscriber is found by login in the INSERT itself; on PostgreSQL, where the address
  // is free, the binding goes in the same statement (each statement there is a round trip the
  // Accounting-Response waits for).
  const sessionValues = (): unknown[] => [...ADOPTED_COLUMNS.map((c) => row[c]), f.login];
  const range = [end ?? Number.MAX_SAFE_INTEGER, start];

  const committed: CommittedSession[] = [];
  let conflict: AddressConflict | null = null;
  let binding: BindingTable | undefined;
  let written: { subscriber_id: string | null } | undefined;
  const shared = address !== null && input.shared(address);
  if (address !== null && !shared && input.dialect === 'postgres') {
    // The usual case, nobody held the address over the session's time: the check and both
    // inserts in one statement. Otherwise it writes nothing, and the full path below runs.
    const unheld = bindingFrom(start, address);
    written = await adoptIfUnheld.first(tx, input.dialect, [address, ...range, ...sessionValues(), ...BINDING_COLUMNS.map((c) => unheld[c])]);
    if (written) binding = unheld;
  }
  if (!written) {
    // The row first, so that a session adopted elsewhere is known before any holder is closed.
    for (let attempt = 1; !written; attempt++) {
      written = await insertAdopted.first(tx, input.dialect, sessionValues());
      if (written || row.adoption_key === null) break;
      const holder = await holderOfKey.first(tx, input.dialect, [row.adoption_key]);
      if (holder && reportIsAbout(holder, r)) return { existing: holder.id };
      if (holder) await releaseKey.run(tx, input.dialect, [holder.id, row.adoption_key]);
      // Keys passing back and forth between gateways: recorded without one rather than not at all.
      if (attempt === KEY_ATTEMPTS) row.adoption_key = null;
    }
    let bind = address !== null;
    // When the address became this session's: its start, unless claimAddress moves it later.
    let boundFrom = start;
    if (address !== null) {
      const claim = await claimAddress(tx, { dialect: input.dialect, policy: input.policy, claimantId: input.sessionId, address, start, end, report: r, facts: f, shared });
      ({ conflict, bind, boundFrom } = claim);
      committed.push(...claim.closed);
    }
    const b = bind && address !== null ? bindingFrom(boundFrom, address) : undefined;
    binding = b;
    if (b) await insertBinding.run(tx, input.dialect, b);
  }
  row.subscriber_id = written?.subscriber_id ?? null;
  if (charge > 0 && row.subscriber_id) await chargeSubscriber(tx, row.subscriber_id, charge, r.receivedAt, row.id);
  if (anomaly) await recordAnomaly(tx, { id: input.anomalyId, kind: anomaly, nasId: f.nasId, sessionId: input.sessionId, acctSessionId: f.acctSessionId, eventAt: r.at, receivedAt: r.receivedAt });
  const unboundPrefixes = await bindReported(tx, { sessionId: input.sessionId, held: [], reported: input.prefixes, start, end, placeOf: input.ipv6PlaceOf, ids: input.prefixIds });
  committed.push(committedOf(row, binding, undefined, input.prefixes.length > 0 ? await prefixesOf(tx, input.sessionId) : []));
  return { anomaly, conflict, committed, unboundPrefixes };
}
