import type { Dialect, Tx } from '../../store/open-store.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import type { BindingTable } from '../../store/schema.ts';
import { closeWithoutStop, type AccountingReport } from '../protocol/session-accounting.ts';
import { committedLocked, insertBinding, latestBindingOf, lockSession, recordAnomaly, recordOf, sessionById, writeChange, type CommittedSession, type LockedSession } from './session-rows.ts';
import type { AccountingFacts } from './session-service.ts';

/** Event times are whole seconds on the NAS's clock. */
const SECOND = 1000;

/** What accounting does when it claims an address another session holds. */
export type AddressConflictPolicy = 'trust-nas' | 'refuse';

export interface AddressConflict {
  address: string;
  /** The sessions whose bindings the claim overlaps. */
  holders: string[];
  policy: AddressConflictPolicy;
}

/** Bindings of the address over [start, end): open ones, or ended after `start`. */
export const bindingsOverlapping = new PreparedStatement<Pick<BindingTable, 'session_id' | 'start_at' | 'end_at' | 'port_first'>>(
  'select session_id, start_at, end_at, port_first from bindings where address = ? and start_at < ? and (end_at is null or end_at > ?)',
);

export interface AddressClaim {
  dialect: Dialect;
  policy: AddressConflictPolicy;
  /** The session that claims the address (an adopted one, or one whose NAS reports a new address). */
  claimantId: string;
  address: string;
  /** From when the report says the claimant had it, and until when (null: it still has it). */
  start: number;
  end: number | null;
  report: AccountingReport;
  facts: AccountingFacts;
  /** A claim the session made before and was refused: its conflicts are not recorded again. */
  quiet?: boolean;
  /** The address is a NAT's, shared out in port blocks: never bound whole. */
  shared?: boolean;
}

export interface ClaimOutcome {
  conflict: AddressConflict | null;
  /** Whether the claimant may be bound to the address, and from when. */
  bind: boolean;
  boundFrom: number;
  /** Holders `trust-nas` closed, for memory to follow. */
  closed: CommittedSession[];
}

/**
 * Whether a holder's session began on the NAS a second or more after `at`: its Start (or,
 * not started, its Access-Accept), not its binding's start, which a claim or the sweeper
 * may have moved later than the NAS's hand-over.
 */
async function handedOnSince(tx: Tx, dialect: Dialect, holders: ReadonlyArray<{ session_id: string }>, at: number): Promise<boolean> {
  for (const h of holders) {
    const s = await sessionById.first(tx, dialect, [h.session_id]);
    const began = s?.started_at ?? s?.authorized_at ?? null;
    if (began !== null && began >= at + SECOND) return true;
  }
  return false;
}

/**
 * Decides a claim on an IPv4 address against everyone else's bindings of it, inside the
 * claimant's transaction. Nobody else held it over the claim's time: bound from `start`.
 * A live claim dated back into a hold that has ended since is bound from that hold's end:
 * what resolution answered for that time stands, so no instant has two holders.
 *
 * Otherwise it is a conflict, recorded for the claimant against each holder, and the policy
 * decides: `trust-nas` (a live claim only) ends the live holders' sessions and bindings where
 * the new binding begins — at the holders' last sign of life at the earliest, so that a claim
 * dated back (Acct-Delay-Time, a replayed queue) does not rewrite a time at which a holder's
 * own accounting or log-in showed it holding the address; `refuse`, or a claim reported as
 * already over, leaves the holders alone and the claimant unbound. A NAT's port blocks of
 * the address are never ended by a claim on the whole of it: the claimant stays unbound.
 * Nor is a holder whose session began a second or more after the report's time: the NAS
 * gave the address to the holder after it said the claimant had it, so the report is
 * history arriving late (a reordered or replayed Start), not a reassignment, and leaves the
 * claimant unbound.
 */
export async function claimAddress(tx: Tx, c: AddressClaim): Promise<ClaimOutcome> {
  if (c.shared) return { conflict: null, bind: false, boundFrom: c.start, closed: [] };
  const closedClaim = c.end !== null;
  const overlapping = (await bindingsOverlapping.all(tx, c.dialect, [c.address, c.end ?? Number.MAX_SAFE_INTEGER, c.start])).filter((b) => b.session_id !== c.claimantId);
  let boundFrom = c.start;
  if (!closedClaim) for (const b of overlapping) if (b.end_at !== null && b.end_at > boundFrom) boundFrom = b.end_at;
  // A live claim conflicts with live holders; a finished one with anybody who held the address meanwhile.
  const holders = closedClaim ? overlapping : overlapping.filter((b) => b.end_at === null);
  if (holders.length === 0) return { conflict: null, bind: true, boundFrom, closed: [] };
  const r = c.report;
  const refused = c.policy === 'refuse' || closedClaim || holders.some((h) => h.port_first !== null) || (await handedOnSince(tx, c.dialect, holders, r.at));
  // A claim refused before is not recorded again; a `trust-nas` close always is.
  for (const h of c.quiet && refused ? [] : holders) {
    await recordAnomaly(tx, {
      kind: 'address-conflict', nasId: c.facts.nasId, sessionId: c.claimantId, otherSessionId: h.session_id, acctSessionId: c.facts.acctSessionId, eventAt: r.at, receivedAt: r.receivedAt,
      detail: { address: c.address, claim: r.kind, holderSince: h.start_at, holderUntil: h.end_at, policy: c.policy },
    });
  }
  const conflict: AddressConflict = { address: c.address, holders: holders.map((h) => h.session_id), policy: c.policy };
  if (refused) return { conflict, bind: false, boundFrom, closed: [] };
  const locked = [];
  for (const h of holders) {
    const held = await lockSession(tx, c.dialect, h.session_id, true);
    if (held) locked.push(held);
  }
  for (const held of locked) boundFrom = Math.max(boundFrom, held.binding?.start_at ?? held.row.started_at ?? boundFrom, held.row.last_seen_at ?? boundFrom);
  const closed: CommittedSession[] = [];
  for (const held of locked) {
    const change = closeWithoutStop(recordOf(held.row), boundFrom, 'address-conflict', 'Sideband-Address-Reassigned', held.binding?.start_at ?? null);
    await writeChange(tx, held, change, {}, r.receivedAt);
    closed.push(committedLocked(held, change));
  }
  return { conflict, bind: true, boundFrom, closed };
}

/** An open session's NAS reported an IPv4 address other than the one it is bound to. */
export interface AddressChange {
  /** The address it was bound to, or null when it had none (a NAS that allocates its own). */
  from: string | null;
  to: string;
  /** Whether the binding followed: false for a Stop, or when `refuse` kept the address with its holder. */
  followed: boolean;
}

export interface ReportedAddress {
  dialect: Dialect;
  policy: AddressConflictPolicy;
  poolIdOf: (address: string) => string | null;
  /** Whether the address is a NAT's, shared out in port blocks. */
  shared: (address: string) => boolean;
  /** Ids chosen before the transaction, so that a rerun writes each row once. */
  bindingId: string;
  anomalyId: string;
  report: AccountingReport;
  facts: AccountingFacts;
  /** The group commit may be running this transaction again after a COMMIT that landed. */
  rerun: boolean;
}

export interface Followed {
  /** The session as it stands after the move, for memory to follow. */
  held: LockedSession;
  change: AddressChange | null;
  conflict: AddressConflict | null;
  closed: CommittedSession[];
}

/**
 * Follows the Framed-IP-Address a NAS reports for a session it already has (found by Class
 * or Acct-Session-Id) when it is not the one bound: the NAS routes the address, so while
 * the session stays open its binding moves there — the old one ends where the new one
 * begins — through `claimAddress`, whose policy decides when someone else holds it. A
 * session bound elsewhere records `address-changed` the first time it reports the address;
 * one that had no address (its NAS allocates, or a claim was refused) is bound once it can be.
 *
 * Nothing moves for a Stop (a finished claim never takes an address), for a closed
 * session, for a report a second or more older than the session's latest binding (a
 * reordered or back-dated one: history, not a move), or where a NAT shares the address out in port
 * blocks (the session's or the reported one: the NAT reports its blocks, port-range-report.ts).
 * Run again after a COMMIT that landed, it finds the session bound already and gives memory
 * the holders that first run closed.
 */
export async function followReportedAddress(tx: Tx, current: LockedSession, stays: boolean, x: ReportedAddress): Promise<Followed> {
  const unchanged: Followed = { held: current, change: null, conflict: null, closed: [] };
  const to = x.facts.framedAddress;
  const { row, binding } = current;
  if (to === null || row.status === 'closed') return unchanged;
  const bound = binding && binding.end_at === null && binding.port_first === null ? binding.address : null;
  if (to === bound) {
    // Back on its bound address after reporting one it was refused: the next report of that one is news again.
    if (row.framed_address !== to) await tx.updateTable('sessions').set({ framed_address: to }).where('id', '=', row.id).execute();
    return x.rerun && binding!.id === x.bindingId ? { ...unchanged, closed: await holdersEndedBy(tx, x.dialect, binding!) } : unchanged;
  }
  // A NAT's address is never taken whole, nor a NAT's session moved off its shared address.
  if (x.shared(to) || (row.framed_address !== null && x.shared(row.framed_address))) return unchanged;
  const latest = await latestBindingOf.first(tx, x.dialect, [row.id]);
  if (latest?.port_first != null) return unchanged;
  const r = x.report;
  // A second or more before the latest binding began: a reordered or back-dated report of
  // where it was then. (The NAS dates in whole seconds: a Start in the Accept's second is news.)
  if (latest && r.at + SECOND <= latest.start_at) return unchanged;
  // The first report of this address; its repetitions record nothing again.
  const fresh = to !== row.framed_address;
  if (fresh) {
    if (bound !== null) {
      await recordAnomaly(tx, {
        id: x.anomalyId, kind: 'address-changed', nasId: x.facts.nasId, sessionId: row.id, acctSessionId: x.facts.acctSessionId, eventAt: r.at, receivedAt: r.receivedAt,
        detail: { from: bound, to, claim: r.kind, policy: x.policy },
      });
    }
    await tx.updateTable('sessions').set({ framed_address: to }).where('id', '=', row.id).execute();
  }
  const seen: Followed = { held: { ...current, row: { ...row, framed_address: to } }, change: fresh && bound !== null ? { from: bound, to, followed: false } : null, conflict: null, closed: [] };
  if (!stays) return seen;
  // Holders refused before are not recorded again; any `trust-nas` close always is.
  const start = latest ? Math.max(r.at, latest.start_at + 1) : r.at;
  const claim = await claimAddress(tx, { dialect: x.dialect, policy: x.policy, claimantId: row.id, address: to, start, end: null, report: r, facts: x.facts, quiet: !fresh });
  if (!claim.bind) return { ...seen, conflict: claim.conflict };
  if (bound !== null) await tx.updateTable('bindings').set({ end_at: claim.boundFrom, open_key: null }).where('id', '=', binding!.id).execute();
  const moved: BindingTable = { id: x.bindingId, session_id: row.id, address: to, port_first: null, port_last: null, start_at: claim.boundFrom, end_at: null, open_key: to };
  await insertBinding.run(tx, x.dialect, moved);
  const poolId = x.poolIdOf(to);
  await tx.updateTable('sessions').set({ pool_id: poolId }).where('id', '=', row.id).execute();
  return {
    held: { ...current, row: { ...row, framed_address: to, pool_id: poolId }, binding: moved },
    change: bound !== null ? { from: bound, to, followed: true } : null,
    conflict: claim.conflict,
    closed: claim.closed,
  };
}

/**
 * The sessions a claim closed under `trust-nas`, found again from the binding it made: their
 * bindings of the address end where it begins. A transaction run again after its COMMIT
 * landed finds its own rows and nothing to close; memory still needs to hear of these.
 */
export async function holdersEndedBy(tx: Tx, dialect: Dialect, claimed: BindingTable): Promise<CommittedSession[]> {
  const ended = await tx.selectFrom('bindings').select('session_id').where('address', '=', claimed.address).where('end_at', '=', claimed.start_at).where('session_id', '!=', claimed.session_id).execute();
  const closed: CommittedSession[] = [];
  for (const e of ended) {
    const held = await lockSession(tx, dialect, e.session_id, false);
    if (held && held.row.closed_by === 'address-conflict') closed.push(committedLocked(held));
  }
  return closed;
}
