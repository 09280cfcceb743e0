import { newId } from '../../core/identity/ids.ts';
import { parseCidr } from '../../core/network/cidr.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ConfidentialRecord } from '../../provisioning/subscribers.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { SettlementPreference } from '../../store/schema.ts';
import type { Vault } from '../../vault/vault.ts';
import { resolveHolder } from '../../aaa/service/resolution-routes.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { DestinationCheckMode, DestinationTracking } from '../../tracking/service/destination-tracking.ts';
import type { Acquirer } from '../settlement/acquirer.ts';
import { encryptBillingDetails } from '../settlement/billing-release.ts';
import { recordEvent, type AuthorizationRow } from './authorization-record.ts';
import { customerPseudonym } from './customer-pseudonym.ts';
import { account, move, post } from './ledger.ts';
import { AuthorizationLifecycle } from './authorization-lifecycle.ts';

export interface CreateAuthorization {
  customer: { address: string; port?: number | undefined; observedAt?: number | undefined };
  amount: number;
  currency: string;
  description?: string | null;
  merchantReference?: string | null;
  capture: 'automatic' | 'manual';
  settlement?: SettlementPreference | undefined;
}

export interface AuthorizationPolicy {
  destinationCheck: DestinationCheckMode;
  destinationWindowMs: number;
  captureWindowMs: number;
  confirmationMs: number;
}

export interface MerchantRow {
  id: string;
  status: string;
  settlement_preference: SettlementPreference;
  pseudonym_salt: string;
}

/**
 * The certification server's decision (the seed's "buy" order): resolve the customer's
 * address to the session and subscriber, check the destination, the subscriber, the
 * limits and the card, apply the subscriber's confirmation policy, and record the answer
 * with its hold, ledger entries and event in one transaction.
 */
export class AuthorizationService {
  readonly lifecycle: AuthorizationLifecycle;

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly sessions: SessionService,
    private readonly tracking: DestinationTracking,
    private readonly acquirer: Acquirer,
    private readonly policy: AuthorizationPolicy,
    private readonly logger: Logger,
  ) {
    this.lifecycle = new AuthorizationLifecycle(store, acquirer, policy, logger, (row) => this.cardFor(row.subscriber_id, row.id));
  }

  async create(merchant: MerchantRow, input: CreateAuthorization, now = Date.now()): Promise<AuthorizationRow> {
    const observedAt = input.customer.observedAt ?? now;
    let holder;
    try {
      holder = await resolveHolder(this.sessions, this.store, { address: input.customer.address, port: input.customer.port, at: observedAt });
    } catch (e) {
      if (e instanceof SidebandError && e.code === 'RESOLVE_NOT_FOUND') throw new SidebandError('CUSTOMER_NOT_FOUND', `Nobody held ${input.customer.address}${input.customer.port !== undefined ? ` port ${input.customer.port}` : ''} at ${new Date(observedAt).toISOString()}.`, { param: 'customer' });
      if (e instanceof SidebandError && e.code === 'RESOLVE_PORT_REQUIRED') throw new SidebandError('RESOLVE_PORT_REQUIRED', e.message, { param: 'customer.port' });
      throw e;
    }
    const subscriberId = holder.subscriber.id;
    if (!subscriberId) throw new SidebandError('CUSTOMER_NOT_FOUND', 'The address was held by a session of no known subscriber.', { param: 'customer' });
    const subscriber = await this.store.db.selectFrom('subscribers').selectAll().where('id', '=', subscriberId).executeTakeFirstOrThrow();
    const settlement = input.settlement ?? merchant.settlement_preference;
    const base = {
      id: newId('auth', now), merchant_id: merchant.id, subscriber_id: subscriberId, session_id: holder.session.id, card_id: null as string | null,
      customer_address: holder.address, customer_port: input.customer.port ?? null, observed_at: observedAt, amount: input.amount, currency: input.currency,
      captured_amount: 0, refunded_amount: 0, capture_mode: input.capture, settlement, description: input.description ?? null, merchant_reference: input.merchantReference ?? null,
      customer_pseudonym: customerPseudonym(merchant.pseudonym_salt, subscriberId), acquirer_reference: null as string | null, billing_details: null as string | null,
      created_at: now, updated_at: now,
    };
    const decline = (reason: ErrorCode) => this.recordDeclined({ ...base, status: 'declined', reason, expires_at: now });

    // 2. The destination check (the seed's third data set).
    const networks = (await this.store.db.selectFrom('merchant_networks').select('cidr').where('merchant_id', '=', merchant.id).execute()).map((n) => parseCidr(n.cidr));
    const check = await this.tracking.check(holder.session.id, networks, this.policy.destinationCheck, this.policy.destinationWindowMs, observedAt);
    if (!check.contacted) return decline('DESTINATION_NOT_VISITED');

    // 3. The subscriber, the currency, and what the settlement needs.
    if (subscriber.status !== 'active') return decline('SUBSCRIBER_NOT_ACTIVE');
    const card = settlement === 'card' || settlement === 'merchant_bill' ? await this.store.db.selectFrom('cards').selectAll().where('subscriber_id', '=', subscriberId).where('status', '=', 'active').orderBy('created_at').executeTakeFirst() : undefined;
    if (settlement !== 'card' && input.currency !== subscriber.currency) return decline('CURRENCY_MISMATCH');
    if (settlement === 'card' && !card) return decline('NO_CARD_ON_FILE');
    let encryptionKey: { id: string; public_key: string; algorithm: string } | undefined;
    if (settlement === 'merchant_bill') {
      encryptionKey = await this.store.db.selectFrom('merchant_keys').select(['id', 'public_key', 'algorithm']).where('merchant_id', '=', merchant.id).where('use', '=', 'enc').where('status', '=', 'active').orderBy('created_at', 'desc').executeTakeFirst();
      if (!subscriber.release_to_merchant || !encryptionKey || !card) return decline('MERCHANT_BILLING_NOT_ALLOWED');
    }
    base.card_id = card?.id ?? null;
    if (card && settlement === 'card') {
      const record = await this.vault.open<ConfidentialRecord>(card.record_id!, 'authorization-credit-check', `merchant:${merchant.id}`);
      if (record.creditLimit !== null && input.amount + (await this.cardExposure(card.id)) > record.creditLimit) return decline('CREDIT_LIMIT_EXCEEDED');
    }

    // 4. The subscriber's confirmation policy.
    const pending = subscriber.auto_approve_limit === null || input.amount > subscriber.auto_approve_limit;

    // Card approvals are authorized with the acquirer before the hold, so a decline
    // there holds nothing; a hold refused afterwards voids it at the acquirer.
    if (!pending && settlement === 'card') {
      const result = await this.acquirer.authorize(await this.cardFor(subscriberId, base.id), input.amount, input.currency, merchant.id);
      if (!result.approved) return decline('CARD_DECLINED');
      base.acquirer_reference = result.reference;
    }
    if (!pending && settlement === 'merchant_bill') {
      const record = await this.vault.open<ConfidentialRecord>(card!.record_id!, 'settlement-merchant-release', `merchant:${merchant.id}`);
      base.billing_details = await encryptBillingDetails({ holderName: record.holderName, cardNumber: record.number, expiry: record.expiry, amount: input.amount, currency: input.currency, authorization: base.id }, encryptionKey!.public_key, encryptionKey!.algorithm, encryptionKey!.id);
    }

    // 3b. The spending limit, atomically: the conditional UPDATE is the check, so
    // concurrent requests can never together pass the limit.
    const row: AuthorizationRow = { ...base, status: pending ? 'pending' : 'approved', reason: pending ? 'CONFIRMATION_REQUIRED' : null, expires_at: now + (pending ? this.policy.confirmationMs : this.policy.captureWindowMs) };
    const held = await this.store.db.transaction().execute(async (tx) => {
      const reserved = await tx
        .updateTable('subscribers')
        .set((eb) => ({ amount_used: eb('amount_used', '+', input.amount), updated_at: now }))
        .where('id', '=', subscriberId)
        .where('status', '=', 'active')
        .where((eb) => eb(eb('amount_used', '+', input.amount), '<=', eb.ref('spending_limit')))
        .executeTakeFirst();
      if (Number(reserved.numUpdatedRows) !== 1) return false;
      await tx.insertInto('authorizations').values(row).execute();
      await post(tx, move(input.amount, account.available(subscriberId), account.held(subscriberId)), input.currency, row.id, now);
      await recordEvent(tx, row, pending ? 'pending' : 'approved', input.amount, now, pending ? 'authorization.pending' : 'authorization.approved', { destinationCheck: check.mode });
      return true;
    });
    if (!held) {
      if (base.acquirer_reference) await this.acquirer.void(base.acquirer_reference).catch((e) => this.logger.error({ err: e }, 'voiding at the acquirer failed'));
      return decline('SPENDING_LIMIT_EXCEEDED');
    }
    if (!pending) this.lifecycle.approved(row);
    if (!pending && input.capture === 'automatic') return this.lifecycle.capture(merchant.id, row.id, undefined, now);
    return row;
  }

  private async recordDeclined(row: AuthorizationRow): Promise<AuthorizationRow> {
    await this.store.db.transaction().execute(async (tx: Tx) => {
      await tx.insertInto('authorizations').values(row).execute();
      await recordEvent(tx, row, 'declined', row.amount, row.created_at, 'authorization.declined', { reason: row.reason });
    });
    return row;
  }

  /** What the subscriber's card already carries: open holds and captures not refunded. */
  private async cardExposure(cardId: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('authorizations')
      .select((eb) => eb.fn.sum<number>(eb.case().when('status', 'in', ['approved', 'pending']).then(eb('amount', '-', eb.ref('refunded_amount'))).else(eb('captured_amount', '-', eb.ref('refunded_amount'))).end()).as('exposure'))
      .where('card_id', '=', cardId)
      .where('status', 'in', ['approved', 'pending', 'captured'])
      .executeTakeFirst();
    return Number(row?.exposure ?? 0);
  }

  /** Opens the card for the acquirer: the one path a card number takes toward a payment network. */
  private async cardFor(subscriberId: string, authorizationId: string) {
    const card = await this.store.db.selectFrom('cards').select('record_id').where('subscriber_id', '=', subscriberId).where('status', '=', 'active').orderBy('created_at').executeTakeFirst();
    if (!card?.record_id) throw new SidebandError('AUTHORIZATION_STATE_INVALID', 'The subscriber has no card on file any more.');
    const record = await this.vault.open<ConfidentialRecord>(card.record_id, 'settlement-acquirer', `acquirer:${this.acquirer.name}:${authorizationId}`);
    return { number: record.number, expiry: record.expiry, holderName: record.holderName };
  }
}
