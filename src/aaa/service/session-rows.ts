import type { Binding } from '../../core/resolution/binding.ts';
import { newId } from '../../core/identity/ids.ts';
import type { Dialect, Tx } from '../../store/open-store.ts';
import { PreparedInsert, PreparedStatement, dialectOf } from '../../store/prepared-statement.ts';
import type { BindingTable, PrefixBindingKind, PrefixBindingTable, SessionTable } from '../../store/schema.ts';
import type { AccountingAnomalyKind } from '../protocol/accounting-anomaly.ts';
import type { SessionChange, SessionRecord } from '../protocol/session-accounting.ts';
import { queuePrepaidLimits } from './dynamic-authorization-queue.ts';

/**
 * The session and binding rows as the accounting rules read and write them, inside the
 * group commit's transactions. Every write here is safe to run twice: the group commit
 * runs a transaction again after a lost connection, when its first COMMIT may have landed.
 */

/** A session as committed, for memory (resolution index, pools, open sessions) to follow. */
export interface CommittedSession {
  id: string;
  subscriberId: string | null;
  login: string;
  nasId: string;
  status: SessionTable['status'];
  acctSessionId: string | null;
  poolId: string | null;
  portKey: string | null;
  binding: Binding | null;
  /** Its earlier IPv4 bindings, when read from the store for another gateway: its NAS may have moved it more than once meanwhile. */
  history?: Binding[];
  /** Its IPv6 prefixes (and Framed-IPv6-Address as a /128), open and ended. */
  prefixes: PrefixBinding[];
}

export interface LockedSession {
  row: SessionTable;
  binding: BindingTable | undefined;
  prefixes: PrefixBindingTable[];
}

/**
 * Reads a session for change. On PostgreSQL, FOR UPDATE makes two gateways changing one
 * session queue behind each other, the second reading what the first committed. SQLite has
 * no FOR UPDATE and needs none: one writer at a time, and a transaction whose snapshot a
 * writer in another process outdated fails with SQLITE_BUSY_SNAPSHOT and is run again.
 * `charging`: the change may charge the subscriber (a Stop, a close without one), whose
 * prepaid row is then locked before the session's, the order purchases keep.
 */
export async function lockSession(tx: Tx, dialect: Dialect, id: string, charging: boolean): Promise<LockedSession | undefined> {
  if (dialect === 'postgres') {
    // The lock and the reads after it in one round trip (migration 0025 says why they are
    // two statements); a change that may charge locks a prepaid subscriber first (0026).
    const locked = await sessionForChange.first(tx, dialect, [id, charging]);
    return locked && readForChange(locked.session, locked.binding ?? undefined, locked.prefixes ?? []);
  }
  const row = await sessionById.first(tx, dialect, [id]);
  if (!row) return undefined;
  const { prefix_count: prefixCount, ...latest } = (await latestBindingAndPrefixCount.first(tx, dialect, [id, id]))!;
  return readForChange(row, latest.id === null ? undefined : (latest as BindingTable), prefixCount > 0 ? await prefixesOfSession.all(tx, dialect, [id]) : []);
}

const readForChange = (row: SessionTable, binding: BindingTable | undefined, prefixes: PrefixBindingTable[]): LockedSession => ({
  row,
  // A binding a NAT released (port-range-report.ts) while the session goes on: no Stop or sweep moves its end.
  binding: row.status !== 'closed' && binding?.end_at != null ? undefined : binding,
  prefixes,
});

/** A session's row, read without a lock. */
export const sessionById = new PreparedStatement<SessionTable>('select * from sessions where id = ?');
/** PostgreSQL's lockSession: the rows as JSON, their columns as in `select *`. */
const sessionForChange = new PreparedStatement<{ session: SessionTable; binding: BindingTable | null; prefixes: PrefixBindingTable[] | null }>(
  'select session, binding, prefixes from sideband_session_for_change(?, ?)',
);
/** A session's latest binding, ended or not. */
export const latestBindingOf = new PreparedStatement<BindingTable>('select * from bindings where session_id = ? order by start_at desc limit 1');
/**
 * latestBindingOf, and how many prefixes the session has, in one row (the binding's columns
 * null when it has none): on SQLite a session with no IPv6 prefix, most of them, is read
 * for change in two statements instead of three.
 */
const latestBindingAndPrefixCount = new PreparedStatement<NullableColumns<BindingTable> & { prefix_count: number }>(
  'select b.*, (select count(*) from prefix_bindings where session_id = ?) as prefix_count ' +
    'from (select 1) as one left join (select * from bindings where session_id = ? order by start_at desc limit 1) as b on true',
);
type NullableColumns<Row> = { [K in keyof Row]: Row[K] | null };

/** A session row and a binding row as the hot paths write them: every column, in one fixed statement each. */
export const insertSession = new PreparedInsert<SessionTable>('sessions', [
  'id', 'subscriber_id', 'login', 'nas_id', 'nas_identifier', 'nas_ip_address', 'nas_port', 'nas_port_id', 'acct_session_id', 'class', 'framed_address', 'pool_id', 'status',
  'authorized_at', 'started_at', 'ended_at', 'last_seen_at', 'session_time', 'input_octets', 'output_octets', 'terminate_cause', 'charged_seconds', 'session_timeout', 'closed_by',
  'port_key', 'calling_station_id', 'framed_interface_id',
]);
export const insertBinding = new PreparedInsert<BindingTable>('bindings', ['id', 'session_id', 'address', 'port_first', 'port_last', 'start_at', 'end_at', 'open_key']);

/** prefixesOf for the hot paths, compiled once (`store/prepared-statement.ts`). */
export const prefixesOfSession = new PreparedStatement<PrefixBindingTable>('select * from prefix_bindings where session_id = ? order by start_at');

export function prefixesOf(tx: Tx, sessionId: string): Promise<PrefixBindingTable[]> {
  return tx.selectFrom('prefix_bindings').selectAll().where('session_id', '=', sessionId).orderBy('start_at').execute();
}

/** A binding of an IPv6 prefix, and which attribute it is. */
export type PrefixBinding = Binding & { readonly kind: PrefixBindingKind };

export const prefixBindingOf = (b: PrefixBindingTable, end: number | null = b.end_at): PrefixBinding => ({
  kind: b.kind,
  id: b.id,
  sessionId: b.session_id,
  address: b.network,
  ...(b.prefix_length < 128 ? { prefixLength: b.prefix_length } : {}),
  start: b.start_at,
  end,
});

/**
 * When a change closes a session (or a late Stop dates its close earlier), each of its
 * prefixes is held until the session's end, never before its own start. The same rule
 * writes the rows (`writeChange`) and tells memory (`committedOf`).
 */
function prefixEnd(b: PrefixBindingTable, change: SessionChange | undefined): number | null {
  const ended = change?.next?.status === 'closed' ? change.next.endedAt : null;
  if (ended === null || ended === undefined || (b.end_at !== null && b.end_at <= ended)) return b.end_at;
  return Math.max(b.start_at, ended);
}

export const recordOf = (row: SessionTable): SessionRecord => ({
  status: row.status,
  closedBy: row.closed_by,
  authorizedAt: row.authorized_at,
  startedAt: row.started_at,
  endedAt: row.ended_at,
  lastSeenAt: row.last_seen_at,
  sessionTime: row.session_time,
  inputOctets: row.input_octets,
  outputOctets: row.output_octets,
  chargedSeconds: row.charged_seconds,
  sessionTimeout: row.session_timeout,
  terminateCause: row.terminate_cause,
  acctSessionId: row.acct_session_id,
});

export const bindingOf = (b: BindingTable, end: number | null = b.end_at): Binding => ({
  id: b.id,
  sessionId: b.session_id,
  address: b.address,
  ...(b.port_first !== null ? { portFirst: b.port_first, portLast: b.port_last! } : {}),
  start: b.start_at,
  end,
});

/** The session columns memory follows (`committedOf`): what a statement that changes a session need return of it. */
export type CommittedColumns = Pick<SessionTable, 'id' | 'subscriber_id' | 'login' | 'nas_id' | 'status' | 'acct_session_id' | 'pool_id' | 'port_key'>;
/** CommittedColumns as a select list; returning all 27 columns cost SQLite ~10 µs more per renewal. */
export const COMMITTED_COLUMNS = 'id, subscriber_id, login, nas_id, status, acct_session_id, pool_id, port_key';

export function committedOf(row: CommittedColumns, binding: BindingTable | undefined, change?: SessionChange, prefixes: PrefixBindingTable[] = []): CommittedSession {
  const next = change?.next;
  return {
    id: row.id,
    subscriberId: row.subscriber_id,
    login: row.login,
    nasId: row.nas_id,
    status: next?.status ?? row.status,
    acctSessionId: next?.acctSessionId ?? row.acct_session_id,
    poolId: row.pool_id,
    portKey: row.port_key,
    binding: binding ? bindingOf(binding, change?.bindingEnd ?? binding.end_at) : null,
    prefixes: prefixes.map((p) => prefixBindingOf(p, prefixEnd(p, change))),
  };
}

/** `committedOf` for a session read for change. */
export const committedLocked = (s: LockedSession, change?: SessionChange): CommittedSession => committedOf(s.row, s.binding, change, s.prefixes);

/** What an accounting report tells of the NAS's side of a session still open: written when given, never cleared. */
export type NasDetails = Partial<Pick<SessionTable, 'nas_port' | 'nas_identifier' | 'calling_station_id' | 'framed_interface_id'>>;

// The session's columns an accounting change sets (SessionChange.next), then the NAS's
// details, each kept as it is where the report gave none (null).
const SET_SESSION_CHANGE =
  'status = ?, closed_by = ?, started_at = ?, ended_at = ?, last_seen_at = ?, session_time = ?, input_octets = ?, output_octets = ?, charged_seconds = ?, ' +
  'terminate_cause = ?, acct_session_id = ?, nas_port = coalesce(?, nas_port), nas_identifier = coalesce(?, nas_identifier), ' +
  'calling_station_id = coalesce(?, calling_station_id), framed_interface_id = coalesce(?, framed_interface_id)';
const SET_BINDING_END = 'end_at = ?, open_key = null';
// Prepaid seconds taken, never below zero; subscribers without a quota are untouched (no row returned).
const CHARGE_SECONDS =
  'update subscribers set seconds_remaining = case when seconds_remaining > ? then seconds_remaining - ? else 0 end, updated_at = ? ' +
  'where id = ? and seconds_remaining is not null returning seconds_remaining';
const updateSessionChange = new PreparedStatement(`update sessions set ${SET_SESSION_CHANGE} where id = ?`);
const endBinding = new PreparedStatement(`update bindings set ${SET_BINDING_END} where id = ?`);
const chargeSeconds = new PreparedStatement<{ seconds_remaining: number }>(CHARGE_SECONDS);
/**
 * On PostgreSQL the three as one statement, one round trip where they took three (a Stop's
 * cost there was mostly round trips). A part given a null id changes nothing. They touch
 * three tables, so no part needs to see another's write.
 */
const writeChangeAtOnce = new PreparedStatement<{ charged: boolean; seconds_remaining: number | null }>(
  `with s as (update sessions set ${SET_SESSION_CHANGE} where id = ?), b as (update bindings set ${SET_BINDING_END} where id = ?), c as (${CHARGE_SECONDS}) ` +
    'select exists (select 1 from c) as charged, (select seconds_remaining from c) as seconds_remaining',
);

const sessionChangeValues = (n: SessionRecord | null, extra: NasDetails): unknown[] => [
  n?.status ?? null, n?.closedBy ?? null, n?.startedAt ?? null, n?.endedAt ?? null, n?.lastSeenAt ?? null, n?.sessionTime ?? null, n?.inputOctets ?? null,
  n?.outputOctets ?? null, n?.chargedSeconds ?? null, n?.terminateCause ?? null, n?.acctSessionId ?? null,
  extra.nas_port ?? null, extra.nas_identifier ?? null, extra.calling_station_id ?? null, extra.framed_interface_id ?? null,
];

/** Writes what the rules decided: the session, its binding's end, the charge. */
export async function writeChange(tx: Tx, current: LockedSession, change: SessionChange, extra: NasDetails = {}, now = Date.now()): Promise<void> {
  const { row, binding } = current;
  const n = change.next;
  const bindingId = change.bindingEnd !== null && binding ? binding.id : null;
  const chargeTo = change.charge > 0 && row.subscriber_id ? row.subscriber_id : null;
  let charged: { seconds_remaining: number } | undefined;
  if (dialectOf(tx) === 'postgres') {
    if (n || bindingId !== null || chargeTo !== null) {
      const r = (await writeChangeAtOnce.first(tx, 'postgres', [...sessionChangeValues(n, extra), n ? row.id : null, change.bindingEnd, bindingId, change.charge, change.charge, now, chargeTo]))!;
      if (r.charged) charged = { seconds_remaining: r.seconds_remaining! };
    }
  } else {
    if (n) await updateSessionChange.run(tx, 'sqlite', [...sessionChangeValues(n, extra), row.id]);
    if (bindingId !== null) await endBinding.run(tx, 'sqlite', [change.bindingEnd, bindingId]);
    if (chargeTo !== null) charged = await chargeSeconds.first(tx, 'sqlite', [change.charge, change.charge, now, chargeTo]);
  }
  for (const p of current.prefixes) {
    const end = prefixEnd(p, change);
    if (end !== p.end_at) await tx.updateTable('prefix_bindings').set({ end_at: end, open_key: null }).where('id', '=', p.id).execute();
  }
  if (charged) await queuePrepaidLimits(tx, chargeTo!, charged.seconds_remaining, { requestedBy: 'radius', now }, row.id);
}

/**
 * Takes prepaid seconds, never below zero; subscribers without a quota are untouched.
 * The subscriber's other open sessions were granted Session-Timeouts from the seconds
 * before this charge: each that now has less left is told so (a CoA-Request, or a
 * Disconnect-Request when nothing is left; `dynamic-authorization-queue.ts`), in this
 * transaction. Run twice, it queues nothing more: the first run lowered their grants.
 */
export async function chargeSubscriber(tx: Tx, subscriberId: string, seconds: number, now: number, sessionId?: string): Promise<void> {
  const charged = await chargeSeconds.first(tx, dialectOf(tx), [seconds, seconds, now, subscriberId]);
  if (charged) await queuePrepaidLimits(tx, subscriberId, charged.seconds_remaining, { requestedBy: 'radius', now }, sessionId);
}

export interface AnomalyRow {
  id?: string;
  kind: AccountingAnomalyKind;
  nasId: string;
  sessionId: string | null;
  otherSessionId?: string | null;
  acctSessionId: string | null;
  eventAt: number | null;
  receivedAt: number;
  detail?: Record<string, unknown>;
}

/** Keeps an anomaly beside its session; an id chosen before a retried transaction is written once. */
export async function recordAnomaly(tx: Tx, a: AnomalyRow): Promise<void> {
  await tx
    .insertInto('accounting_anomalies')
    .values({
      id: a.id ?? newId('anom', a.receivedAt), kind: a.kind, nas_id: a.nasId, session_id: a.sessionId, other_session_id: a.otherSessionId ?? null, acct_session_id: a.acctSessionId,
      event_at: a.eventAt, received_at: a.receivedAt, detail: a.detail ? JSON.stringify(a.detail) : null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
