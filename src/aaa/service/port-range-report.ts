import { cidrContains, parseCidr } from '../../core/network/cidr.ts';
import { newId } from '../../core/identity/ids.ts';
import type { Db, Dialect, Tx } from '../../store/open-store.ts';
import type { BindingTable } from '../../store/schema.ts';
import type { ReportedPortRange } from '../protocol/ip-port-range.ts';
import { committedOf, lockSession, type CommittedSession } from './session-rows.ts';

/** RFC 6890 leaves 0–1023 as system ports; a pool's blocks start above them (address-pool.ts). */
const FIRST_PORT = 1024;

/**
 * Why a NAT's report was not applied. Stable strings: the labels of
 * `sideband_radius_port_range_reports_total{outcome}` and the `cause` kept in the history.
 */
export type PortRangeRefusal =
  | 'session-unknown'
  | 'session-closed'
  | 'address-missing'
  | 'outside-pools'
  | 'not-a-block'
  | 'overlap'
  | 'not-held';

export type PortRangeOutcome = { outcome: 'applied' | 'unchanged' } | { outcome: 'refused'; cause: PortRangeRefusal };

export interface PortRangeReportInput {
  sessionId: string;
  nasId: string;
  range: ReportedPortRange;
  /** When the NAT says it happened (the request's time). */
  at: number;
  receivedAt: number;
  /** Chosen before the transaction, so that a retried one writes the same rows once. */
  reportId: string;
  bindingId: string;
}

export interface PortRangeApplied {
  result: PortRangeOutcome;
  /** The session as committed, for memory to follow; null when nothing changed. */
  committed: CommittedSession | null;
  /** The binding the report ended, and when; memory closes it. */
  ended: { id: string; end: number } | null;
}

/**
 * Applies one IP-Port-Range (RFC 8045 §3.2) a NAT reported for a session, inside the
 * group commit's transaction. An Allocation that differs from what the session holds
 * ends its binding at the report's time and begins one for the reported address and
 * block; a Deallocation ends the binding that holds exactly that block. The block must
 * be one of a carrier-grade NAT pool's (its size, on its grid, from port 1024), so that
 * the allocator can keep it from anyone else, and no other open session may hold any of
 * its ports on that address. A refusal changes nothing but its own history row.
 */
export async function applyPortRangeReport(tx: Tx, dialect: Dialect, input: PortRangeReportInput): Promise<PortRangeApplied> {
  const { range, at } = input;
  const current = await lockSession(tx, dialect, input.sessionId, false);
  const refuse = async (cause: PortRangeRefusal, address: string | null = range.externalAddress): Promise<PortRangeApplied> => {
    if (current) await record(tx, input, address, 'refused', cause, null, null);
    return { result: { outcome: 'refused', cause }, committed: null, ended: null };
  };
  if (!current) return refuse('session-unknown');
  if (current.row.status === 'closed') {
    // A Stop that also reports the release: the Stop ended the binding already.
    if (range.alloc === 'deallocation') return unchanged(tx, input, range.externalAddress);
    return refuse('session-closed');
  }
  // lockSession leaves out a binding the NAT already released; find the open one, if any.
  const open = current.binding && current.binding.end_at === null ? current.binding : undefined;
  const address = range.externalAddress ?? open?.address ?? null;
  if (address === null) return refuse('address-missing', null);

  if (range.alloc === 'deallocation') {
    if (!open || open.address !== address || open.port_first !== range.first || open.port_last !== range.last) return refuse('not-held', address);
    const end = Math.max(open.start_at, at);
    await tx.updateTable('bindings').set({ end_at: end, open_key: null }).where('id', '=', open.id).execute();
    await record(tx, input, address, 'applied', null, open.id, null);
    return { result: { outcome: 'applied' }, committed: committedOf(current.row, { ...open, end_at: end, open_key: null }), ended: { id: open.id, end } };
  }

  if (open && open.address === address && open.port_first === range.first && open.port_last === range.last) return unchanged(tx, input, address);
  const pools = await tx.selectFrom('pools').select(['cidr', 'ports_per_block']).where('ports_per_block', 'is not', null).execute();
  const pool = pools.find((p) => !p.cidr.includes(':') && cidrContains(parseCidr(p.cidr), address));
  if (!pool) return refuse('outside-pools', address);
  const size = pool.ports_per_block!;
  if (range.first < FIRST_PORT || (range.first - FIRST_PORT) % size !== 0 || range.last !== range.first + size - 1 || range.last > 65535) return refuse('not-a-block', address);
  const clash = await tx
    .selectFrom('bindings')
    .select('id')
    .where('address', '=', address)
    .where('session_id', '!=', input.sessionId)
    .where('end_at', 'is', null)
    .where((eb) => eb.or([eb('port_first', 'is', null), eb.and([eb('port_first', '<=', range.last), eb('port_last', '>=', range.first)])]))
    .executeTakeFirst();
  if (clash) return refuse('overlap', address);

  // Strictly after the old binding's start, so that the latest binding of the session is always the new one.
  const start = open ? Math.max(open.start_at + 1, at) : at;
  if (open) await tx.updateTable('bindings').set({ end_at: start, open_key: null }).where('id', '=', open.id).execute();
  const began: BindingTable = { id: input.bindingId, session_id: input.sessionId, address, port_first: range.first, port_last: range.last, start_at: start, end_at: null, open_key: `${address}:${range.first}` };
  await tx.insertInto('bindings').values(began).execute();
  await tx.updateTable('sessions').set({ framed_address: address }).where('id', '=', input.sessionId).execute();
  await record(tx, input, address, 'applied', null, open?.id ?? null, began.id);
  return { result: { outcome: 'applied' }, committed: committedOf(current.row, began), ended: open ? { id: open.id, end: start } : null };
}

async function unchanged(tx: Tx, input: PortRangeReportInput, address: string | null): Promise<PortRangeApplied> {
  await record(tx, input, address, 'unchanged', null, null, null);
  return { result: { outcome: 'unchanged' }, committed: null, ended: null };
}

async function record(tx: Tx, input: PortRangeReportInput, address: string | null, outcome: string, cause: string | null, ended: string | null, began: string | null): Promise<void> {
  await tx
    .insertInto('port_range_reports')
    .values({
      id: input.reportId, session_id: input.sessionId, nas_id: input.nasId, alloc: input.range.alloc, address, port_first: input.range.first, port_last: input.range.last,
      outcome, cause, ended_binding_id: ended, began_binding_id: began, event_at: input.at, received_at: input.receivedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

export const newReportIds = (receivedAt: number, at: number): { reportId: string; bindingId: string } => ({ reportId: newId('prr', receivedAt), bindingId: newId('bnd', at) });

/** A session's port range reports as its history shows them, oldest first. */
export interface PortRangeReportView {
  alloc: 'allocation' | 'deallocation';
  address: string | null;
  portFirst: number;
  portLast: number;
  outcome: string;
  cause: string | null;
  endedBindingId: string | null;
  beganBindingId: string | null;
  eventAt: string;
  receivedAt: string;
}

export async function portRangeReportsOf(db: Db, sessionId: string): Promise<PortRangeReportView[]> {
  const rows = await db.selectFrom('port_range_reports').selectAll().where('session_id', '=', sessionId).orderBy('received_at').limit(100).execute();
  return rows.map((r) => ({
    alloc: r.alloc, address: r.address, portFirst: r.port_first, portLast: r.port_last, outcome: r.outcome, cause: r.cause,
    endedBindingId: r.ended_binding_id, beganBindingId: r.began_binding_id, eventAt: new Date(Number(r.event_at)).toISOString(), receivedAt: new Date(Number(r.received_at)).toISOString(),
  }));
}
