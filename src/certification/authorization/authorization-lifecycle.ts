import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { MovementView as Movement } from '../api/contract/merchant-api-schemas.ts';
import { completeClaim, completeResource, type IdempotencyClaim } from '../api/idempotency.ts';
import type { Acquirer, AcquirerResult, CardForAcquirer } from '../settlement/acquirer.ts';
import { AcquirerOutbox } from '../settlement/acquirer-outbox.ts';
import { merchantView, recordEvent, type AuthorizationRow } from './authorization-record.ts';
import type { AuthorizationPolicy } from './authorization-service.ts';
import { account, move, post, type Posting } from './ledger.ts';

/** Where captured money goes, by settlement (see ledger.ts). */
function settlementPostings(row: AuthorizationRow, amount: number): Posting[] {
  switch (row.settlement) {
    case 'card':
      return move(amount, account.merchantPayable(row.merchant_id), account.cardClearing());
    case 'provider_bill':
      return move(amount, account.merchantPayable(row.merchant_id), account.subscriberBill(row.subscriber_id));
    case 'merchant_bill':
      return move(amount, account.merchantRevenue(row.merchant_id), account.merchantBilled(row.merchant_id));
  }
}

const spent = (subscriberId: string) => `subscriber:${subscriberId}:spent`;

/** Where an approved authorization ends when its uncaptured rest is released. */
const closedStatus = (row: AuthorizationRow, uncaptured: 'voided' | 'expired'): string => (row.captured_amount === 0 ? uncaptured : row.refunded_amount === row.captured_amount ? 'refunded' : 'captured');

/** A capture or refund as the merchant sees it: the SDK's type is the definition. */
export type MovementView = Movement;

/** How long one acquirer call may take before its outcome counts as unknown (and is asked again). */
const ACQUIRER_DEADLINE_MS = 8_000;
/** A processing authorization untouched this long is resumed by the recovery sweep. */
const RECOVER_AFTER_MS = 30_000;
/** A processing authorization the acquirer could not answer for this long is declined. */
const GIVE_UP_AFTER_MS = 10 * 60_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Gives back `amount` of the subscriber's spending and of the card's credit. */
async function returnLimits(tx: Tx, row: AuthorizationRow, amount: number, now: number): Promise<void> {
  if (amount <= 0) return;
  await tx.updateTable('subscribers').set((eb) => ({ amount_used: eb.case().when('amount_used', '>', amount).then(eb('amount_used', '-', amount)).else(0).end(), updated_at: now })).where('id', '=', row.subscriber_id).execute();
  if (row.card_id) await tx.updateTable('cards').set((eb) => ({ credit_used: eb.case().when('credit_used', '>', amount).then(eb('credit_used', '-', amount)).else(0).end() })).where('id', '=', row.card_id).execute();
}

/**
 * What the approving request already read that a listener would otherwise read again:
 * the subscriber's secure-channel switch for this merchant (null: off).
 */
export interface ApprovalContext {
  channelMode: string | null;
}

/**
 * Everything after the decision: the acquirer's answer, capture (full, partial, several),
 * void, refund, the subscriber's confirmation, expiry and recovery. Each change is one
 * conditional UPDATE (so two concurrent captures can never take more than was
 * authorized) with its ledger transaction, event, webhook, owed acquirer step and stored
 * response in one database transaction. No transaction waits on the acquirer: an
 * authorization waits for it in the durable state `processing`, and captures, refunds
 * and voids reach it through the outbox.
 */
export class AuthorizationLifecycle {
  /** Told of each approval (the secure channel starts there when the subscriber switched it on). */
  readonly approvalListeners: Array<(row: AuthorizationRow, known?: ApprovalContext) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly acquirer: Acquirer,
    readonly outbox: AcquirerOutbox,
    private readonly policy: AuthorizationPolicy,
    private readonly logger: Logger,
    private readonly cardFor: (row: AuthorizationRow) => Promise<CardForAcquirer>,
    /** A merchant_bill purchase's sealed billing details, or null when their release is no longer allowed. */
    private readonly billingFor: (row: AuthorizationRow) => Promise<string | null>,
  ) {}

  approved(row: AuthorizationRow, known?: ApprovalContext): void {
    for (const listener of this.approvalListeners) {
      try {
        listener(row, known);
      } catch (e) {
        this.logger.error({ err: e, authorization: row.id }, 'an approval listener failed');
      }
    }
  }

  async get(merchantId: string, id: string): Promise<AuthorizationRow> {
    const row = await this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).where('merchant_id', '=', merchantId).executeTakeFirst();
    if (!row) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`, { param: 'id' });
    return row;
  }

  /** A page of the merchant's authorizations, newest first, after the `startingAfter` id. */
  async list(merchantId: string, f: { status?: string | undefined; createdAfter?: number | undefined; createdBefore?: number | undefined; limit: number; startingAfter?: string | undefined }): Promise<{ rows: AuthorizationRow[]; hasMore: boolean }> {
    let q = this.store.db.selectFrom('authorizations').selectAll().where('merchant_id', '=', merchantId).orderBy('id', 'desc').limit(f.limit + 1);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.createdAfter !== undefined) q = q.where('created_at', '>', f.createdAfter);
    if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore);
    // Ids are time-ordered, so "older than the last one seen" is a stable cursor.
    if (f.startingAfter) q = q.where('id', '<', f.startingAfter);
    const rows = await q.execute();
    return { rows: rows.slice(0, f.limit), hasMore: rows.length > f.limit };
  }

  /** A capture or refund as the merchant sees it (an event of one of its authorizations). */
  async movement(merchantId: string, eventId: string, kind?: 'capture' | 'refund'): Promise<MovementView> {
    const event = await this.store.db
      .selectFrom('authorization_events')
      .innerJoin('authorizations', 'authorizations.id', 'authorization_events.authorization_id')
      .select(['authorization_events.id', 'authorization_events.type', 'authorization_events.amount', 'authorization_events.at', 'authorizations.id as authorization_id', 'authorizations.currency', 'authorizations.merchant_id'])
      .where('authorization_events.id', '=', eventId)
      .executeTakeFirst();
    if (!event || event.merchant_id !== merchantId || (event.type !== 'capture' && event.type !== 'refund') || (kind && event.type !== kind)) {
      throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No ${kind ?? 'capture or refund'} ${eventId}.`, { param: 'id' });
    }
    return { id: event.id, object: event.type, authorizationId: event.authorization_id, amount: event.amount ?? 0, currency: event.currency, createdAt: new Date(event.at).toISOString() };
  }

  private async reread(tx: Tx, id: string): Promise<AuthorizationRow> {
    return tx.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  private async reload(id: string): Promise<AuthorizationRow> {
    return this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  // ── capture ─────────────────────────────────────────────────────────────

  /** Captures `take` of an approved authorization inside the caller's transaction. */
  async captureIn(tx: Tx, id: string, take: number, now: number): Promise<{ row: AuthorizationRow; movement: MovementView }> {
    const r = await tx
      .updateTable('authorizations')
      .set((eb) => ({
        captured_amount: eb('captured_amount', '+', take),
        status: eb.case().when(eb(eb('captured_amount', '+', take), '=', eb.ref('amount'))).then('captured').else(eb.ref('status')).end(),
        updated_at: now,
      }))
      .where('id', '=', id)
      .where('status', '=', 'approved')
      .where('expires_at', '>', now)
      .where((eb) => eb(eb('captured_amount', '+', take), '<=', eb.ref('amount')))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) {
      const latest = await this.reread(tx, id);
      if (latest.status === 'approved' && latest.expires_at <= now) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} passed its capture window at ${new Date(latest.expires_at).toISOString()}; it can no longer be captured.`);
      throw new SidebandError('CAPTURE_EXCEEDS_AUTHORIZED', 'A concurrent capture took part of the amount; GET the authorization and retry.', { param: 'amount' });
    }
    const row = await this.reread(tx, id);
    await post(tx, [...move(take, account.held(row.subscriber_id), spent(row.subscriber_id)), ...settlementPostings(row, take)], row.currency, id, now);
    await AcquirerOutbox.queue(tx, row, 'capture', take, now);
    const eventId = await recordEvent(tx, row, 'capture', take, now, 'authorization.captured');
    return { row, movement: { id: eventId, object: 'capture', authorizationId: id, amount: take, currency: row.currency, createdAt: new Date(now).toISOString() } };
  }

  /** Captures `amount` (default: the rest). */
  async capture(merchantId: string, id: string, amount: number | undefined, claim: IdempotencyClaim | null = null, now = Date.now()): Promise<{ row: AuthorizationRow; movement: MovementView }> {
    const current = await this.get(merchantId, id);
    if (current.status !== 'approved') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}; only an approved one can be captured.`);
    if (current.expires_at <= now) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} passed its capture window at ${new Date(current.expires_at).toISOString()}; it can no longer be captured.`);
    const take = amount ?? current.amount - current.captured_amount;
    if (take <= 0 || current.captured_amount + take > current.amount) throw new SidebandError('CAPTURE_EXCEEDS_AUTHORIZED', `At most ${current.amount - current.captured_amount} can still be captured.`, { param: 'amount' });
    const done = await this.store.db.transaction().execute(async (tx) => {
      const result = await this.captureIn(tx, id, take, now);
      if (claim) await completeClaim(tx, claim, 201, JSON.stringify(result.movement));
      return result;
    });
    this.outbox.kick();
    return done;
  }

  // ── void, expiry, decline: releasing the hold ───────────────────────────

  /** Ends an open authorization in the caller's transaction and gives back what was held and not captured. */
  private async releaseIn(tx: Tx, current: AuthorizationRow, to: string, reason: string | null, webhook: 'authorization.voided' | 'authorization.expired' | 'authorization.declined', now: number): Promise<AuthorizationRow | null> {
    const remaining = current.amount - current.captured_amount;
    // As read: `to` was chosen from these amounts (a refund meanwhile may make it `refunded`).
    const r = await tx
      .updateTable('authorizations')
      .set({ status: to, reason: reason ?? current.reason, updated_at: now })
      .where('id', '=', current.id)
      .where('status', '=', current.status)
      .where('captured_amount', '=', current.captured_amount)
      .where('refunded_amount', '=', current.refunded_amount)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return null;
    await returnLimits(tx, current, remaining, now);
    await post(tx, move(remaining, account.held(current.subscriber_id), account.available(current.subscriber_id)), current.currency, current.id, now);
    const row = await this.reread(tx, current.id);
    // An authorization the acquirer holds and nothing was taken from is released there too.
    if (current.captured_amount === 0) await AcquirerOutbox.queue(tx, row, 'void', null, now);
    await recordEvent(tx, row, to === 'captured' || to === 'refunded' ? 'closed' : to, remaining, now, webhook, reason ? { reason } : undefined);
    return row;
  }

  private async release(current: AuthorizationRow, to: string, reason: string | null, webhook: 'authorization.voided' | 'authorization.expired' | 'authorization.declined', now: number, claim: IdempotencyClaim | null = null): Promise<AuthorizationRow | null> {
    const row = await this.store.db.transaction().execute(async (tx) => {
      const released = await this.releaseIn(tx, current, to, reason, webhook, now);
      if (released) {
        if (claim) await completeClaim(tx, claim, 200, JSON.stringify(merchantView(released)));
        // A key still waiting on this authorization (a crash mid-create) gets the final answer.
        await completeResource(tx, released.id, 201, JSON.stringify(merchantView(released)));
      }
      return released;
    });
    if (row) this.outbox.kick();
    return row;
  }

  /** Releases what is not captured: `voided` if nothing was, else `captured` (closed). */
  async void(merchantId: string, id: string, claim: IdempotencyClaim | null = null, now = Date.now()): Promise<AuthorizationRow> {
    const current = await this.get(merchantId, id);
    if (current.status !== 'approved' && current.status !== 'pending') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}; only a pending or approved one can be voided.`);
    const row = await this.release(current, closedStatus(current, 'voided'), null, 'authorization.voided', now, claim);
    if (!row) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while it was being voided; GET it and retry.`);
    return row;
  }

  // ── refund ──────────────────────────────────────────────────────────────

  /**
   * Refunds `amount` (default: all captured and not yet refunded). `recordWith` writes what
   * the caller adds to the refund (CAMARA's refund resource) in the refund's transaction.
   */
  async refund(merchantId: string, id: string, amount: number | undefined, reason: string | null, claim: IdempotencyClaim | null = null, now = Date.now(), recordWith?: (tx: Tx, row: AuthorizationRow, movement: MovementView) => Promise<void>): Promise<{ row: AuthorizationRow; movement: MovementView }> {
    const current = await this.get(merchantId, id);
    if (!['approved', 'captured', 'refunded'].includes(current.status) || current.captured_amount === 0) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} has nothing captured to refund.`);
    const give = amount ?? current.captured_amount - current.refunded_amount;
    if (give <= 0 || current.refunded_amount + give > current.captured_amount) throw new SidebandError('REFUND_EXCEEDS_CAPTURED', `At most ${current.captured_amount - current.refunded_amount} can still be refunded.`, { param: 'amount' });
    const done = await this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('authorizations')
        .set((eb) => ({
          refunded_amount: eb('refunded_amount', '+', give),
          status: eb.case().when(eb.and([eb('status', '=', 'captured'), eb(eb('refunded_amount', '+', give), '=', eb.ref('captured_amount'))])).then('refunded').else(eb.ref('status')).end(),
          updated_at: now,
        }))
        .where('id', '=', id)
        .where('status', 'in', ['approved', 'captured', 'refunded'])
        .where((eb) => eb(eb('refunded_amount', '+', give), '<=', eb.ref('captured_amount')))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SidebandError('REFUND_EXCEEDS_CAPTURED', 'A concurrent refund took part of the amount; GET the authorization and retry.', { param: 'amount' });
      const row = await this.reread(tx, id);
      const back = settlementPostings(row, give).map((p) => ({ account: p.account, amount: -p.amount }));
      await post(tx, [...back, ...move(give, spent(row.subscriber_id), account.available(row.subscriber_id))], row.currency, id, now);
      await returnLimits(tx, row, give, now);
      await AcquirerOutbox.queue(tx, row, 'refund', give, now);
      const eventId = await recordEvent(tx, row, 'refund', give, now, 'authorization.refunded', reason ? { reason } : undefined);
      const movement: MovementView = { id: eventId, object: 'refund', authorizationId: id, amount: give, currency: row.currency, createdAt: new Date(now).toISOString() };
      await recordWith?.(tx, row, movement);
      if (claim) await completeClaim(tx, claim, 201, JSON.stringify(movement));
      return { row, movement };
    });
    this.outbox.kick();
    return done;
  }

  // ── the acquirer's answer ───────────────────────────────────────────────

  /**
   * Asks the acquirer to authorize a `processing` authorization, by its id as the
   * idempotency key (asking again is safe), and records the answer. An acquirer that does
   * not answer leaves it `processing`: ACQUIRER_UNAVAILABLE, and a retry resumes it.
   */
  async completeAtAcquirer(row: AuthorizationRow, now = Date.now()): Promise<AuthorizationRow> {
    let card: CardForAcquirer;
    try {
      card = await this.cardFor(row);
    } catch (e) {
      // The card was removed while the purchase waited: nothing to authorize it with.
      if (e instanceof SidebandError && e.code === 'AUTHORIZATION_STATE_INVALID') return this.finishProcessing(row, { approved: false, reason: 'NO_CARD_ON_FILE' }, now);
      throw e;
    }
    let result: AcquirerResult;
    try {
      result = await withDeadline(this.acquirer.authorize(card, row.amount, row.currency, row.merchant_id, row.id), ACQUIRER_DEADLINE_MS);
    } catch (e) {
      this.logger.warn({ err: e, authorization: row.id }, 'the acquirer did not answer an authorization; it stays processing');
      throw new SidebandError('ACQUIRER_UNAVAILABLE', `The acquirer did not answer for authorization ${row.id}; retry with the same Idempotency-Key to resume it.`, { cause: e });
    }
    return this.finishProcessing(row, result, now);
  }

  /** Records the acquirer's answer for a processing authorization; whoever finishes first wins, the others read the result. */
  async finishProcessing(current: AuthorizationRow, result: AcquirerResult | { approved: false; reason: 'ACQUIRER_UNAVAILABLE' | 'NO_CARD_ON_FILE' }, now: number): Promise<AuthorizationRow> {
    const row = await this.store.db.transaction().execute(async (tx) => {
      if (!result.approved) {
        return this.releaseIn(tx, current, 'declined', 'reason' in result ? result.reason : 'CARD_DECLINED', 'authorization.declined', now).then(async (released) => {
          if (released) await completeResource(tx, released.id, 201, JSON.stringify(merchantView(released)));
          return released;
        });
      }
      const r = await tx
        .updateTable('authorizations')
        .set({ status: 'approved', reason: null, acquirer_reference: result.reference, expires_at: now + this.policy.captureWindowMs, updated_at: now })
        .where('id', '=', current.id)
        .where('status', '=', 'processing')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      let approved = await this.reread(tx, current.id);
      await recordEvent(tx, approved, 'approved', approved.amount, now, 'authorization.approved');
      if (approved.capture_mode === 'automatic') approved = (await this.captureIn(tx, approved.id, approved.amount, now)).row;
      await completeResource(tx, approved.id, 201, JSON.stringify(merchantView(approved)));
      return approved;
    });
    if (!row) return this.reload(current.id);
    this.outbox.kick();
    if (row.status === 'approved' || row.status === 'captured') this.approved(row);
    return row;
  }

  /**
   * Resumes authorizations left `processing` (a crash, or an acquirer that did not answer)
   * whose request nobody retried; after GIVE_UP_AFTER_MS without an answer they are
   * declined (ACQUIRER_UNAVAILABLE), and a hold the acquirer may have made lapses there.
   */
  async recoverProcessing(now = Date.now()): Promise<number> {
    const stuck = await this.store.db.selectFrom('authorizations').selectAll().where('status', '=', 'processing').where('updated_at', '<=', now - RECOVER_AFTER_MS).limit(100).execute();
    let n = 0;
    for (const row of stuck) {
      // Take it for a while, so two sweeps do not ask the acquirer at once.
      const taken = await this.store.db.updateTable('authorizations').set({ updated_at: now }).where('id', '=', row.id).where('status', '=', 'processing').where('updated_at', '=', row.updated_at).executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) continue;
      try {
        await this.completeAtAcquirer({ ...row, updated_at: now }, now);
        n++;
      } catch (e) {
        if (now - (await this.processingSince(row)) < GIVE_UP_AFTER_MS) continue;
        this.logger.error({ err: e, authorization: row.id }, 'giving up on an authorization the acquirer never answered');
        await this.finishProcessing({ ...row, updated_at: now }, { approved: false, reason: 'ACQUIRER_UNAVAILABLE' }, now);
        n++;
      }
    }
    return n;
  }

  /**
   * When the authorization entered `processing`: its creation, or (a purchase the
   * subscriber had to confirm) the confirmation, which may come long after. Both are
   * events: `processing` at creation, `confirmed` from pending.
   */
  private async processingSince(row: AuthorizationRow): Promise<number> {
    const entered = await this.store.db
      .selectFrom('authorization_events')
      .select((eb) => eb.fn.max('at').as('at'))
      .where('authorization_id', '=', row.id)
      .where('type', 'in', ['processing', 'confirmed'])
      .executeTakeFirst();
    return entered?.at === null || entered?.at === undefined ? row.created_at : Number(entered.at);
  }

  // ── the subscriber's answer ─────────────────────────────────────────────

  /** The subscriber confirms a pending purchase (portal or operator). */
  async approveBySubscriber(id: string, now = Date.now()): Promise<AuthorizationRow> {
    const current = await this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!current) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`);
    if (current.status !== 'pending') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}, not pending.`);
    const toAcquirer = current.settlement === 'card';
    // A merchant that bills the subscriber itself learns the billing details with the
    // approval, as at an approval without confirmation; if their release is no longer
    // allowed, the purchase cannot go ahead as asked.
    const billing = current.settlement === 'merchant_bill' ? await this.billingFor(current) : undefined;
    if (billing === null) {
      const declined = await this.release(current, 'declined', 'MERCHANT_BILLING_NOT_ALLOWED', 'authorization.declined', now);
      if (!declined) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while being approved.`);
      return declined;
    }
    const row = await this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('authorizations')
        .set(toAcquirer ? { status: 'processing', reason: null, updated_at: now } : { status: 'approved', reason: null, expires_at: now + this.policy.captureWindowMs, updated_at: now, ...(billing ? { billing_details: billing } : {}) })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      let updated = await this.reread(tx, id);
      await recordEvent(tx, updated, toAcquirer ? 'confirmed' : 'approved', updated.amount, now, toAcquirer ? null : 'authorization.approved', { by: 'subscriber' });
      if (!toAcquirer && updated.capture_mode === 'automatic') updated = (await this.captureIn(tx, id, updated.amount, now)).row;
      return updated;
    });
    if (!row) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while being approved.`);
    if (toAcquirer) return this.completeAtAcquirer(row, now);
    this.approved(row);
    return row;
  }

  async declineBySubscriber(id: string, now = Date.now()): Promise<AuthorizationRow> {
    const current = await this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!current) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`);
    if (current.status !== 'pending') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}, not pending.`);
    const row = await this.release(current, 'declined', 'SUBSCRIBER_DECLINED', 'authorization.declined', now);
    if (!row) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while being declined.`);
    return row;
  }

  /** Pending ones nobody confirmed are declined; approved ones not captured in time release their hold. */
  async expireDue(now = Date.now()): Promise<number> {
    const due = await this.store.db.selectFrom('authorizations').selectAll().where('status', 'in', ['pending', 'approved']).where('expires_at', '<=', now).limit(500).execute();
    let n = 0;
    for (const row of due) {
      const to = row.status === 'pending' ? 'declined' : closedStatus(row, 'expired');
      const done = await this.release(row, to, row.status === 'pending' ? 'CONFIRMATION_EXPIRED' : null, row.status === 'pending' ? 'authorization.declined' : 'authorization.expired', now);
      if (done) n++;
    }
    return n;
  }
}
