import { sql } from 'kysely';
import { dialectOf } from '../../store/prepared-statement.ts';
import { newId } from '../../core/identity/ids.ts';
import { toIso } from '../../core/time/to-iso.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Db, Tx } from '../../store/open-store.ts';
import type { DynamicAuthorizationKind, DynamicAuthorizationStatus, DynamicAuthorizationTable, SessionTable } from '../../store/schema.ts';
import { prepaidLimitAction } from '../protocol/prepaid-limit.ts';
import { ErrorCause } from '../wire/attribute-values.ts';

/**
 * The requests Sideband is to send a NAS (RFC 5176), kept with the sessions they are
 * about: the queue the sending gateway works from and the history the operator reads.
 *
 * A request is written in the transaction of the change that calls for it, so that a
 * suspension never commits without its disconnects, nor they without it. A gateway that
 * made the change itself writes them already claimed (`sending`, by it) and sends at once;
 * one written by the command line (no RADIUS socket) stays `pending` until the gateway
 * holding the `dynamic-authorization` lease claims it. Claiming is one conditional
 * update, so one gateway sends each request; one whose claimant died is taken over once
 * its claim is older than every retry could last.
 */

/** PostgreSQL channel on which a queued request wakes the lease holder at commit. */
export const DYNAMIC_AUTHORIZATION_CHANNEL = 'sideband_dynamic_authorization';

/** Why a request was queued. Stable strings: docs/radius.md lists them. */
export type DynamicAuthorizationReason = 'operator-disconnect' | 'subscriber-suspended' | 'subscriber-closed' | 'prepaid-seconds' | 'spending-limit';

export const isFinished = (status: DynamicAuthorizationStatus): boolean => status !== 'pending' && status !== 'sending';

export interface QueueOptions {
  requestedBy: string;
  reason: DynamicAuthorizationReason;
  now?: number;
  /** The gateway (job-lease holder name) that will send it at once; null leaves it for the lease holder. */
  claimedBy?: string | null;
}

/** One entry of a session's history of dynamic authorization. */
export interface DynamicAuthorizationView {
  id: string;
  sessionId: string;
  /** `Disconnect-Request` or `CoA-Request`. */
  request: 'Disconnect-Request' | 'CoA-Request';
  reason: string;
  /** The new Session-Timeout a CoA-Request carries. */
  sessionTimeout: number | null;
  requestedBy: string;
  requestedAt: string;
  status: DynamicAuthorizationStatus;
  destination: string | null;
  attempts: number;
  /** RFC 5176 §3.5, with FreeRADIUS's name for the value. */
  errorCause: { value: number; name: string | null } | null;
  detail: Record<string, unknown> | null;
  completedAt: string | null;
}

const errorCauseNames = new Map<number, string>(Object.entries(ErrorCause).map(([name, value]) => [value, name]));

export function viewOf(row: DynamicAuthorizationTable): DynamicAuthorizationView {
  return {
    id: row.id, sessionId: row.session_id, request: row.kind === 'disconnect' ? 'Disconnect-Request' : 'CoA-Request', reason: row.reason, sessionTimeout: row.session_timeout,
    requestedBy: row.requested_by, requestedAt: toIso(row.requested_at), status: row.status, destination: row.destination, attempts: row.attempts,
    errorCause: row.error_cause === null ? null : { value: row.error_cause, name: errorCauseNames.get(row.error_cause) ?? null },
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null, completedAt: toIso(row.completed_at),
  };
}

type OpenSessionRow = Pick<SessionTable, 'id' | 'nas_id' | 'status' | 'session_timeout' | 'started_at' | 'authorized_at' | 'charged_seconds'>;

async function insert(tx: Tx, session: Pick<SessionTable, 'id' | 'nas_id'>, kind: DynamicAuthorizationKind, sessionTimeout: number | null, o: QueueOptions): Promise<string> {
  const now = o.now ?? Date.now();
  const id = newId('dac', now);
  const claimed = o.claimedBy ?? null;
  await tx
    .insertInto('dynamic_authorizations')
    .values({
      id, session_id: session.id, nas_id: session.nas_id, kind, reason: o.reason, session_timeout: sessionTimeout, requested_by: o.requestedBy, requested_at: now,
      status: claimed ? 'sending' : 'pending', claimed_by: claimed, claimed_at: claimed ? now : null, destination: null, attempts: 0, error_cause: null, detail: null, completed_at: null,
    })
    .execute();
  return id;
}

/** Wakes the lease holder at commit (PostgreSQL); SQLite's gateway polls. */
async function wake(tx: Tx, claimedBy: string | null | undefined): Promise<void> {
  if (claimedBy || dialectOf(tx) !== 'postgres') return;
  await sql`select pg_notify(${DYNAMIC_AUTHORIZATION_CHANNEL}, '')`.execute(tx);
}

/** Sessions of `ids` that already have a Disconnect-Request under way: asking twice helps nothing. */
async function disconnecting(tx: Tx, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx.selectFrom('dynamic_authorizations').select('session_id').where('session_id', 'in', ids).where('kind', '=', 'disconnect').where('status', 'in', ['pending', 'sending']).execute();
  return new Set(rows.map((r) => r.session_id));
}

/**
 * Queues a Disconnect-Request for one session (an operator's `session disconnect`).
 * Throws SESSION_NOT_FOUND, or SESSION_CLOSED for a session already over. A second
 * request while one is under way returns that one.
 */
export async function queueSessionDisconnect(tx: Tx, sessionId: string, o: QueueOptions): Promise<string> {
  const session = await tx.selectFrom('sessions').select(['id', 'nas_id', 'status']).where('id', '=', sessionId).executeTakeFirst();
  if (!session) throw new SidebandError('SESSION_NOT_FOUND', `No session ${sessionId}.`, { param: 'id' });
  if (session.status === 'closed') throw new SidebandError('SESSION_CLOSED', `Session ${sessionId} is closed already; there is nothing to disconnect.`, { param: 'id' });
  const underWay = await tx.selectFrom('dynamic_authorizations').select('id').where('session_id', '=', sessionId).where('kind', '=', 'disconnect').where('status', 'in', ['pending', 'sending']).executeTakeFirst();
  if (underWay) return underWay.id;
  const id = await insert(tx, session, 'disconnect', null, o);
  await wake(tx, o.claimedBy);
  return id;
}

/** Queues a Disconnect-Request for every open session of a subscriber (a suspension, a closure). */
export async function queueSubscriberDisconnects(tx: Tx, subscriberId: string, o: QueueOptions): Promise<string[]> {
  const sessions = await openSessionsOf(tx, subscriberId);
  const skip = await disconnecting(tx, sessions.map((s) => s.id));
  const ids: string[] = [];
  for (const s of sessions) if (!skip.has(s.id)) ids.push(await insert(tx, s, 'disconnect', null, o));
  if (ids.length > 0) await wake(tx, o.claimedBy);
  return ids;
}

/**
 * After the subscriber's prepaid seconds changed (`secondsRemaining`, uncharged), tells
 * each open session what it has left (`protocol/prepaid-limit.ts`): a CoA-Request with a
 * shorter Session-Timeout, or a Disconnect-Request when nothing is left. `except` is a
 * session closing in this transaction.
 */
export async function queuePrepaidLimits(tx: Tx, subscriberId: string, secondsRemaining: number | null, o: Omit<QueueOptions, 'reason'>, except?: string): Promise<string[]> {
  if (secondsRemaining === null) return [];
  return queueTimeLimits(tx, subscriberId, { ...o, reason: 'prepaid-seconds' }, () => secondsRemaining, except);
}

export interface SpendingState {
  amount_used: number;
  spending_limit: number;
  spent_session_seconds: number | null;
}

/**
 * The subscriber's spending rule (`sideband subscriber set-limit --spent-session-seconds
 * N`): once they have spent their whole limit, each open session may last N more
 * seconds — a CoA-Request with that Session-Timeout, or a Disconnect-Request for 0 —
 * unless it ends sooner anyway. Called in the transaction that reserved the spending (or
 * changed the limit or the rule); queues nothing while money is left or without a rule.
 */
export async function queueSpendingRule(tx: Tx, subscriberId: string, o: Omit<QueueOptions, 'reason'>, spending?: SpendingState): Promise<string[]> {
  // `spending`: the row as the caller's UPDATE … RETURNING left it in this transaction.
  const s = spending ?? (await tx.selectFrom('subscribers').select(['amount_used', 'spending_limit', 'spent_session_seconds']).where('id', '=', subscriberId).executeTakeFirst());
  if (!s || s.spent_session_seconds === null || !spendingExhausted(s)) return [];
  const grace = Number(s.spent_session_seconds);
  // As prepaid seconds "in all": what the session has run plus the grace, so that it is left the grace from now.
  return queueTimeLimits(tx, subscriberId, { ...o, reason: 'spending-limit' }, (elapsed) => Math.floor(elapsed) + grace);
}

/** Something was spent and nothing is left: a limit of 0 turns purchases off, it is not "spent". */
export const spendingExhausted = (s: { amount_used: number; spending_limit: number }): boolean => Number(s.amount_used) > 0 && Number(s.amount_used) >= Number(s.spending_limit);

/**
 * Tells each open session of the subscriber what it may last (`protocol/prepaid-limit.ts`):
 * `allowed(elapsed)` is the seconds in all it may run, given the seconds it has run.
 */
async function queueTimeLimits(tx: Tx, subscriberId: string, o: QueueOptions, allowed: (elapsedSeconds: number) => number, except?: string): Promise<string[]> {
  const now = o.now ?? Date.now();
  const sessions = (await openSessionsOf(tx, subscriberId)).filter((s) => s.id !== except);
  const skip = await disconnecting(tx, sessions.map((s) => s.id));
  const ids: string[] = [];
  for (const s of sessions) {
    if (skip.has(s.id)) continue;
    const begun = s.started_at ?? s.authorized_at ?? now;
    const elapsed = (now - begun) / 1000;
    const decision = prepaidLimitAction({ secondsRemaining: allowed(elapsed), sessionTimeout: s.session_timeout, elapsed });
    if (decision.action === 'none') continue;
    const timeout = decision.action === 'coa' ? decision.sessionTimeout : null;
    ids.push(await insert(tx, s, decision.action, timeout, { ...o, now }));
    // What the session is now granted: a later change compares with this, not the Accept's.
    if (timeout !== null) await tx.updateTable('sessions').set({ session_timeout: Math.floor((now - begun) / 1000) + timeout }).where('id', '=', s.id).execute();
  }
  if (ids.length > 0) await wake(tx, o.claimedBy);
  return ids;
}

async function openSessionsOf(tx: Tx, subscriberId: string): Promise<OpenSessionRow[]> {
  return tx
    .selectFrom('sessions')
    .select(['id', 'nas_id', 'status', 'session_timeout', 'started_at', 'authorized_at', 'charged_seconds'])
    .where('subscriber_id', '=', subscriberId)
    .where('status', '!=', 'closed')
    .orderBy('id')
    .execute();
}

/** A session's history of dynamic authorization, oldest first. */
export async function dynamicAuthorizationsOf(db: Db, sessionId: string): Promise<DynamicAuthorizationView[]> {
  const rows = await db.selectFrom('dynamic_authorizations').selectAll().where('session_id', '=', sessionId).orderBy('requested_at').orderBy('id').limit(100).execute();
  return rows.map(viewOf);
}

export async function dynamicAuthorization(db: Db, id: string): Promise<DynamicAuthorizationView | undefined> {
  const row = await db.selectFrom('dynamic_authorizations').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? viewOf(row) : undefined;
}

/**
 * Claims up to `limit` requests for `holder`: those pending, and those whose claimant
 * has held them since before `staleBefore` (it died mid-send). Each is one conditional
 * update, so two gateways claiming at once never both win a row.
 */
export async function claimUnfinished(db: Db, holder: string, now: number, staleBefore: number, limit = 50): Promise<DynamicAuthorizationTable[]> {
  const candidates = await db
    .selectFrom('dynamic_authorizations')
    .select('id')
    .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('claimed_at', '<', staleBefore)])]))
    .orderBy('requested_at')
    .limit(limit)
    .execute();
  const claimed: DynamicAuthorizationTable[] = [];
  for (const { id } of candidates) {
    const r = await db
      .updateTable('dynamic_authorizations')
      .set({ status: 'sending', claimed_by: holder, claimed_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('claimed_at', '<', staleBefore)])]))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) claimed.push(await db.selectFrom('dynamic_authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  }
  return claimed;
}

export interface Outcome {
  status: Exclude<DynamicAuthorizationStatus, 'pending' | 'sending'>;
  attempts: number;
  destination: string | null;
  errorCause: number | null;
  detail: Record<string, unknown> | null;
}

/**
 * Records what came of a request, only while `holder` still holds it: a gateway that lost
 * its claim (taken over as stale) must not overwrite the outcome its successor records.
 * Returns whether it was recorded.
 */
export async function recordOutcome(db: Db, id: string, holder: string, outcome: Outcome, now = Date.now()): Promise<boolean> {
  const r = await db
    .updateTable('dynamic_authorizations')
    .set({ status: outcome.status, attempts: outcome.attempts, destination: outcome.destination, error_cause: outcome.errorCause, detail: outcome.detail ? JSON.stringify(outcome.detail) : null, completed_at: now })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('claimed_by', '=', holder)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Gives a request back to the queue (a stopping gateway), keeping what was tried. */
export async function releaseClaim(db: Db, id: string, holder: string, attempts: number): Promise<void> {
  await db
    .updateTable('dynamic_authorizations')
    .set({ status: 'pending', claimed_by: null, claimed_at: null, attempts })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('claimed_by', '=', holder)
    .execute();
}
