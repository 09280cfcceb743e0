import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { Acquirer, CardForAcquirer } from '../settlement/acquirer.ts';
import { recordEvent, type AuthorizationRow } from './authorization-record.ts';
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

/**
 * Everything after the decision: capture (full, partial, several), void, refund, the
 * subscriber's confirmation, and expiry. Each change is one conditional UPDATE, so two
 * concurrent captures can never take more than was authorized, plus its ledger
 * transaction and event in the same database transaction.
 */
export class AuthorizationLifecycle {
  /** Told of each approval (the secure channel starts there when the subscriber switched it on). */
  readonly approvalListeners: Array<(row: AuthorizationRow) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly acquirer: Acquirer,
    private readonly policy: AuthorizationPolicy,
    private readonly logger: Logger,
    private readonly cardFor: (row: AuthorizationRow) => Promise<CardForAcquirer>,
  ) {}

  approved(row: AuthorizationRow): void {
    for (const listener of this.approvalListeners) listener(row);
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
  async movement(merchantId: string, eventId: string, row: AuthorizationRow | null, kind?: 'capture' | 'refund'): Promise<{ id: string; object: 'capture' | 'refund'; authorizationId: string; amount: number; currency: string; createdAt: string }> {
    const event = await this.store.db
      .selectFrom('authorization_events')
      .innerJoin('authorizations', 'authorizations.id', 'authorization_events.authorization_id')
      .select(['authorization_events.id', 'authorization_events.type', 'authorization_events.amount', 'authorization_events.at', 'authorizations.id as authorization_id', 'authorizations.currency', 'authorizations.merchant_id'])
      .where('authorization_events.id', '=', eventId)
      .executeTakeFirst();
    if (!event || event.merchant_id !== merchantId || (event.type !== 'capture' && event.type !== 'refund') || (kind && event.type !== kind)) {
      throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No ${kind ?? 'capture or refund'} ${eventId}.`, { param: 'id' });
    }
    return { id: event.id, object: event.type, authorizationId: row?.id ?? event.authorization_id, amount: event.amount ?? 0, currency: event.currency, createdAt: new Date(event.at).toISOString() };
  }

  private async reread(tx: Tx, id: string): Promise<AuthorizationRow> {
    return tx.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** Captures `amount` (default: the rest); returns the authorization after it. */
  async capture(merchantId: string, id: string, amount: number | undefined, now = Date.now()): Promise<AuthorizationRow> {
    return (await this.captureMovement(merchantId, id, amount, now)).row;
  }

  async captureMovement(merchantId: string, id: string, amount: number | undefined, now = Date.now()): Promise<{ row: AuthorizationRow; eventId: string }> {
    const current = await this.get(merchantId, id);
    if (current.status !== 'approved') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}; only an approved one can be captured.`);
    const take = amount ?? current.amount - current.captured_amount;
    if (take <= 0 || current.captured_amount + take > current.amount) throw new SidebandError('CAPTURE_EXCEEDS_AUTHORIZED', `At most ${current.amount - current.captured_amount} can still be captured.`, { param: 'amount' });
    return this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('authorizations')
        .set((eb) => ({
          captured_amount: eb('captured_amount', '+', take),
          status: eb.case().when(eb(eb('captured_amount', '+', take), '=', eb.ref('amount'))).then('captured').else(eb.ref('status')).end(),
          updated_at: now,
        }))
        .where('id', '=', id)
        .where('status', '=', 'approved')
        .where((eb) => eb(eb('captured_amount', '+', take), '<=', eb.ref('amount')))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SidebandError('CAPTURE_EXCEEDS_AUTHORIZED', 'A concurrent capture took part of the amount; GET the authorization and retry.', { param: 'amount' });
      const row = await this.reread(tx, id);
      await post(tx, [...move(take, account.held(row.subscriber_id), spent(row.subscriber_id)), ...settlementPostings(row, take)], row.currency, id, now);
      if (row.acquirer_reference) await this.acquirer.capture(row.acquirer_reference, take, row.currency);
      const eventId = await recordEvent(tx, row, 'capture', take, now, 'authorization.captured');
      return { row, eventId };
    });
  }

  /** Releases what is not captured: `voided` if nothing was, else `captured` (closed). */
  async void(merchantId: string, id: string, now = Date.now()): Promise<AuthorizationRow> {
    const current = await this.get(merchantId, id);
    if (current.status !== 'approved' && current.status !== 'pending') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}; only a pending or approved one can be voided.`);
    const row = await this.release(current, current.captured_amount > 0 ? 'captured' : 'voided', null, 'authorization.voided', now);
    if (!row) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while it was being voided.`);
    if (row.acquirer_reference && row.captured_amount === 0) await this.acquirer.void(row.acquirer_reference).catch((e) => this.logger.error({ err: e }, 'acquirer void failed'));
    return row;
  }

  /** Ends an open authorization and gives the subscriber back what was held and not captured. */
  private async release(current: AuthorizationRow, to: string, reason: string | null, webhook: 'authorization.voided' | 'authorization.expired' | 'authorization.declined', now: number): Promise<AuthorizationRow | null> {
    const remaining = current.amount - current.captured_amount;
    return this.store.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('authorizations').set({ status: to, reason: reason ?? current.reason, updated_at: now }).where('id', '=', current.id).where('status', '=', current.status).where('captured_amount', '=', current.captured_amount).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      await tx.updateTable('subscribers').set((eb) => ({ amount_used: eb.case().when('amount_used', '>', remaining).then(eb('amount_used', '-', remaining)).else(0).end(), updated_at: now })).where('id', '=', current.subscriber_id).execute();
      await post(tx, move(remaining, account.held(current.subscriber_id), account.available(current.subscriber_id)), current.currency, current.id, now);
      const row = await this.reread(tx, current.id);
      await recordEvent(tx, row, to === 'captured' ? 'closed' : to, remaining, now, webhook, reason ? { reason } : undefined);
      return row;
    });
  }

  async refundMovement(merchantId: string, id: string, amount: number | undefined, reason: string | null, now = Date.now()): Promise<{ row: AuthorizationRow; eventId: string }> {
    const current = await this.get(merchantId, id);
    if (!['approved', 'captured', 'refunded'].includes(current.status) || current.captured_amount === 0) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} has nothing captured to refund.`);
    const give = amount ?? current.captured_amount - current.refunded_amount;
    if (give <= 0 || current.refunded_amount + give > current.captured_amount) throw new SidebandError('REFUND_EXCEEDS_CAPTURED', `At most ${current.captured_amount - current.refunded_amount} can still be refunded.`, { param: 'amount' });
    return this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('authorizations')
        .set((eb) => ({
          refunded_amount: eb('refunded_amount', '+', give),
          status: eb.case().when(eb.and([eb('status', '=', 'captured'), eb(eb('refunded_amount', '+', give), '=', eb.ref('captured_amount'))])).then('refunded').else(eb.ref('status')).end(),
          updated_at: now,
        }))
        .where('id', '=', id)
        .where((eb) => eb(eb('refunded_amount', '+', give), '<=', eb.ref('captured_amount')))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SidebandError('REFUND_EXCEEDS_CAPTURED', 'A concurrent refund took part of the amount; GET the authorization and retry.', { param: 'amount' });
      const row = await this.reread(tx, id);
      const back = settlementPostings(row, give).map((p) => ({ account: p.account, amount: -p.amount }));
      await post(tx, [...back, ...move(give, spent(row.subscriber_id), account.available(row.subscriber_id))], row.currency, id, now);
      await tx.updateTable('subscribers').set((eb) => ({ amount_used: eb.case().when('amount_used', '>', give).then(eb('amount_used', '-', give)).else(0).end(), updated_at: now })).where('id', '=', row.subscriber_id).execute();
      if (row.acquirer_reference) await this.acquirer.refund(row.acquirer_reference, give, row.currency);
      const eventId = await recordEvent(tx, row, 'refund', give, now, 'authorization.refunded', reason ? { reason } : undefined);
      return { row, eventId };
    });
  }

  /** The subscriber confirms a pending purchase (portal or operator). */
  async approveBySubscriber(id: string, now = Date.now()): Promise<AuthorizationRow> {
    const current = await this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!current) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`);
    if (current.status !== 'pending') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${current.status}, not pending.`);
    let reference: string | null = null;
    if (current.settlement === 'card') {
      const result = await this.acquirer.authorize(await this.cardFor(current), current.amount, current.currency, current.merchant_id);
      if (!result.approved) {
        await this.release(current, 'declined', 'CARD_DECLINED', 'authorization.declined', now);
        return this.reload(id);
      }
      reference = result.reference;
    }
    const row = await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('authorizations').set({ status: 'approved', reason: null, acquirer_reference: reference, expires_at: now + this.policy.captureWindowMs, updated_at: now }).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const updated = await this.reread(tx, id);
      await recordEvent(tx, updated, 'approved', updated.amount, now, 'authorization.approved', { by: 'subscriber' });
      return updated;
    });
    if (!row) throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} changed while being approved.`);
    this.approved(row);
    if (row.capture_mode === 'automatic') return this.capture(row.merchant_id, id, undefined, now);
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

  private async reload(id: string): Promise<AuthorizationRow> {
    return this.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** Pending ones nobody confirmed are declined; approved ones not captured in time release their hold. */
  async expireDue(now = Date.now()): Promise<number> {
    const due = await this.store.db.selectFrom('authorizations').selectAll().where('status', 'in', ['pending', 'approved']).where('expires_at', '<=', now).limit(500).execute();
    let n = 0;
    for (const row of due) {
      const to = row.status === 'pending' ? 'declined' : row.captured_amount > 0 ? 'captured' : 'expired';
      const done = await this.release(row, to, row.status === 'pending' ? 'CONFIRMATION_EXPIRED' : null, row.status === 'pending' ? 'authorization.declined' : 'authorization.expired', now);
      if (done) n++;
    }
    return n;
  }
}
