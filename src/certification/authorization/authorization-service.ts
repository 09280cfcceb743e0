import { newId } from '../../core/identity/ids.ts';
import { parseCidr, type Cidr } from '../../core/network/cidr.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ConfidentialRecord } from '../../provisioning/subscribers.ts';
import { DurableWrites } from '../../store/durable-writes.ts';
import { PreparedInsert, PreparedStatement } from '../../store/prepared-statement.ts';
import type { Db, Store, Tx } from '../../store/open-store.ts';
import type { SettlementPreference } from '../../store/schema.ts';
import type { Vault } from '../../vault/vault.ts';
import { queueSpendingRule } from '../../aaa/service/dynamic-authorization-queue.ts';
import { locateHolder } from '../../aaa/service/resolution-routes.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { DestinationCheckMode, DestinationTracking } from '../../tracking/service/destination-tracking.ts';
import type { Acquirer } from '../settlement/acquirer.ts';
import type { AcquirerOutbox } from '../settlement/acquirer-outbox.ts';
import { encryptBillingDetails } from '../settlement/billing-release.ts';
import { merchantView, recordEvent, type AuthorizationRow } from './authorization-record.ts';
import { claimLost, completeClaim, linkClaim, type IdempotencyClaim } from '../api/idempotency.ts';
import { customerPseudonym } from './customer-pseudonym.ts';
import { account, move, post, type Posting } from './ledger.ts';
import { AuthorizationLifecycle } from './authorization-lifecycle.ts';
import { AUTHORIZATION_COLUMNS, RESERVE_SPENDING, decideInOne, type SpendingState } from './decision-statement.ts';

export interface CreateAuthorization {
  customer: { address: string; port?: number | undefined; observedAt?: number | undefined };
  amount: number;
  currency: string;
  description?: string | null;
  merchantReference?: string | null;
  capture: 'automatic' | 'manual';
  settlement?: SettlementPreference | undefined;
  /**
   * Rows another surface keeps beside the authorization (the CAMARA payment), written in
   * the transaction that records it, whatever the decision: both commit or neither.
   */
  recordWith?: ((tx: Tx, row: AuthorizationRow) => Promise<void>) | undefined;
}

export interface AuthorizationPolicy {
  destinationCheck: DestinationCheckMode;
  destinationWindowMs: number;
  captureWindowMs: number;
  confirmationMs: number;
  /** The oldest `customer.observedAt` accepted. */
  observedMaxAgeMs: number;
  /** How long after the session (or its hold on the address) ended a purchase is still accepted. */
  presenceGraceMs: number;
}

/**
 * An authorization already holds this key: its stored answer was purged after 24 hours
 * (or a retry that took the key over raced it). Never a second authorization, and never
 * a 500 that every retry would meet again.
 */
function keyAlreadySpent(e: unknown, claim: IdempotencyClaim | null): unknown {
  if (!claim || !isUniqueViolation(e)) return e;
  return new SidebandError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${claim.key} already made an authorization; use a new key for a new purchase, or GET the authorization.`, { param: 'Idempotency-Key' });
}


const reserveSpending = new PreparedStatement<SpendingState>(RESERVE_SPENDING);

const insertAuthorization = new PreparedInsert<AuthorizationRow>('authorizations', AUTHORIZATION_COLUMNS);

/**
 * Why the hold's conditional UPDATE (RESERVE_SPENDING) matched no row: the subscriber was
 * active when the purchase read them, so either the limit, or a suspension or closing
 * committed in between (an operator, the prepaid rules, another gateway), which the
 * merchant must hear as such rather than as a spent limit. Read only on this path.
 */
async function holdRefusal(db: Db | Tx, subscriberId: string): Promise<ErrorCode> {
  const subscriber = await db.selectFrom('subscribers').select('status').where('id', '=', subscriberId).executeTakeFirst();
  return subscriber?.status === 'active' ? 'SPENDING_LIMIT_EXCEEDED' : 'SUBSCRIBER_NOT_ACTIVE';
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
  /** Merchants' networks parsed, by their stored text: every purchase checks them, and they rarely change. */
  private readonly networks = new Map<string, Cidr>();

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly sessions: SessionService,
    private readonly tracking: DestinationTracking,
    private readonly acquirer: Acquirer,
    outbox: AcquirerOutbox,
    private readonly policy: AuthorizationPolicy,
    logger: Logger,
    private readonly writes: DurableWrites = new DurableWrites(store),
  ) {
    this.lifecycle = new AuthorizationLifecycle(store, acquirer, outbox, policy, logger, (row) => this.cardFor(row), (row) => this.billingFor(row));
  }

  /**
   * Decides a purchase. Everything that can refuse it is read and checked first; then one
   * transaction takes the holds (spending limit and card credit, each a conditional
   * UPDATE), records the authorization and its ledger entries, and either stores the final
   * answer under the merchant's key or, for a card the acquirer must authorize, leaves the
   * authorization `processing` and links the key to it. The acquirer is asked only after
   * that commit, never inside a transaction.
   */
  async create(merchant: MerchantRow, input: CreateAuthorization, claim: IdempotencyClaim | null = null, now = Date.now()): Promise<AuthorizationRow> {
    const observedAt = input.customer.observedAt ?? now;
    let located;
    try {
      located = await locateHolder(this.sessions, this.store, { address: input.customer.address, port: input.customer.port, at: observedAt, forMerchant: merchant.id });
    } catch (e) {
      if (e instanceof SidebandError && e.code === 'RESOLVE_NOT_FOUND') throw new SidebandError('CUSTOMER_NOT_FOUND', `Nobody held ${input.customer.address}${input.customer.port !== undefined ? ` port ${input.customer.port}` : ''} at ${new Date(observedAt).toISOString()}.`, { param: 'customer' });
      if (e instanceof SidebandError && e.code === 'RESOLVE_PORT_REQUIRED') throw new SidebandError('RESOLVE_PORT_REQUIRED', e.message, { param: 'customer.port' });
      throw e;
    }
    const { resolution: holder, sessionEndedAt, subscriber } = located;
    const subscriberId = holder.subscriber.id;
    if (!subscriberId || !subscriber) throw new SidebandError('CUSTOMER_NOT_FOUND', 'The address was held by a session of no known subscriber.', { param: 'customer' });
    const settlement = input.settlement ?? merchant.settlement_preference;
    const base = {
      id: newId('auth', now), merchant_id: merchant.id, subscriber_id: subscriberId, session_id: holder.session.id, card_id: null as string | null,
      customer_address: holder.address, customer_port: input.customer.port ?? null, observed_at: observedAt, amount: input.amount, currency: input.currency,
      captured_amount: 0, refunded_amount: 0, capture_mode: input.capture, settlement, description: input.description ?? null, merchant_reference: input.merchantReference ?? null,
      customer_pseudonym: customerPseudonym(merchant.pseudonym_salt, subscriberId), acquirer_reference: null as string | null, billing_details: null as string | null,
      idempotency_key: claim?.key ?? null, created_at: now, updated_at: now,
    };
    const decline = (reason: ErrorCode) => this.recordDeclined({ ...base, status: 'declined', reason, expires_at: now }, claim, input.recordWith);

    // 1b. A customer who is there: seen recently, by a session still open (or just closed).
    const bindingEnd = holder.binding.end === null ? null : Date.parse(holder.binding.end);
    const leftAt = Math.min(holder.session.status === 'closed' ? (sessionEndedAt ?? 0) : Infinity, bindingEnd ?? Infinity);
    if (now - observedAt > this.policy.observedMaxAgeMs || now - leftAt > this.policy.presenceGraceMs) return decline('CUSTOMER_NOT_PRESENT');

    // 2. The destination check (the seed's third data set).
    const networks = located.merchantNetworks.map((cidr) => this.network(cidr));
    const check = await this.tracking.check(holder.session.id, networks, this.policy.destinationCheck, this.policy.destinationWindowMs, observedAt);
    if (!check.contacted) return decline('DESTINATION_NOT_VISITED');

    // 3. The subscriber, the currency of their limit, and what the settlement needs.
    if (subscriber.status !== 'active') return decline('SUBSCRIBER_NOT_ACTIVE');
    if (input.currency !== subscriber.currency) return decline('CURRENCY_MISMATCH');
    const card = settlement === 'card' || settlement === 'merchant_bill' ? await this.store.db.selectFrom('cards').selectAll().where('subscriber_id', '=', subscriberId).where('status', '=', 'active').orderBy('created_at').executeTakeFirst() : undefined;
    if (settlement === 'card' && !card) return decline('NO_CARD_ON_FILE');
    let encryptionKey: { id: string; public_key: string; algorithm: string } | undefined;
    if (settlement === 'merchant_bill') {
      encryptionKey = await this.encryptionKeyOf(merchant.id);
      if (!subscriber.release_to_merchant || !encryptionKey || !card) return decline('MERCHANT_BILLING_NOT_ALLOWED');
    }
    base.card_id = card?.id ?? null;
    let creditLimit: number | null = null;
    if (card) {
      const record = await this.vault.open<ConfidentialRecord>(card.record_id!, 'authorization-credit-check', `merchant:${merchant.id}`);
      creditLimit = record.creditLimit;
      if (creditLimit !== null && input.amount > creditLimit) return decline('CREDIT_LIMIT_EXCEEDED');
    }

    // 4. The subscriber's confirmation policy; a card approval waits for the acquirer.
    const pending = subscriber.auto_approve_limit === null || input.amount > subscriber.auto_approve_limit;
    const status = pending ? 'pending' : settlement === 'card' ? 'processing' : 'approved';
    if (status === 'approved' && settlement === 'merchant_bill') base.billing_details = await this.sealBilling(card!.record_id!, base, encryptionKey!);

    // 5. The holds, atomically: each conditional UPDATE is its own check, so concurrent
    // requests can never together pass a limit.
    const row: AuthorizationRow = { ...base, status, reason: pending ? 'CONFIRMATION_REQUIRED' : null, expires_at: now + (pending ? this.policy.confirmationMs : this.policy.captureWindowMs) };
    const held = await (this.oneStatementDecides(row, card, input) ? this.decideInOneStatement(row, check.mode, claim, subscriber.spent_session_seconds !== null) : this.writes.run(async (tx): Promise<{ row: AuthorizationRow } | { refused: ErrorCode }> => {
      const spending = await reserveSpending.first(tx, this.store.dialect, [input.amount, now, subscriberId, input.amount]);
      if (!spending) return { refused: await holdRefusal(tx, subscriberId) };
      if (card) {
        let credit = tx.updateTable('cards').set((eb) => ({ credit_used: eb('credit_used', '+', input.amount) })).where('id', '=', card.id).where('status', '=', 'active');
        if (creditLimit !== null) credit = credit.where((eb) => eb(eb('credit_used', '+', input.amount), '<=', creditLimit));
        const r = await credit.executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) {
          // Given back in this transaction rather than by throwing: the transaction may be
          // shared with other purchases (durable-writes.ts), and a refusal is no failure.
          await tx.updateTable('subscribers').set((eb) => ({ amount_used: eb('amount_used', '-', input.amount) })).where('id', '=', subscriberId).execute();
          // The card was active when read: its credit, or its removal committed in between,
          // answered as a purchase made after the removal is (step 3).
          const still = await tx.selectFrom('cards').select('status').where('id', '=', card.id).executeTakeFirst();
          return { refused: still?.status === 'active' ? 'CREDIT_LIMIT_EXCEEDED' : settlement === 'merchant_bill' ? 'MERCHANT_BILLING_NOT_ALLOWED' : 'NO_CARD_ON_FILE' };
        }
      }
      await insertAuthorization.run(tx, this.store.dialect, row);
      await input.recordWith?.(tx, row);
      // The subscriber's spending rule may end or shorten their sessions once this spent the rest.
      await queueSpendingRule(tx, subscriberId, { requestedBy: 'spending-limit', now }, spending);
      await post(tx, move(input.amount, account.available(subscriberId), account.held(subscriberId)), input.currency, row.id, now);
      await recordEvent(tx, row, status, input.amount, now, status === 'processing' ? null : status === 'pending' ? 'authorization.pending' : 'authorization.approved', { destinationCheck: check.mode });
      let final = row;
      if (status === 'approved' && input.capture === 'automatic') final = (await this.lifecycle.captureIn(tx, row.id, input.amount, now)).row;
      if (claim) {
        if (status === 'processing') await linkClaim(tx, claim, row.id);
        else await completeClaim(tx, claim, 201, JSON.stringify(merchantView(final)));
      }
      return { row: final };
    })).catch((e: unknown) => {
      throw keyAlreadySpent(e, claim);
    });
    if ('refused' in held) return decline(held.refused);
    if (held.row.status === 'processing') return this.lifecycle.completeAtAcquirer(held.row, now);
    if (held.row.status !== 'pending') this.lifecycle.approved(held.row, { channelMode: subscriber.channel_mode });
    return held.row;
  }

  private network(text: string): Cidr {
    let cidr = this.networks.get(text);
    if (!cidr) {
      if (this.networks.size >= 10_000) this.networks.clear();
      cidr = parseCidr(text);
      this.networks.set(text, cidr);
    }
    return cidr;
  }

  /**
   * Whether the decision's transaction can be the one statement of decision-statement.ts:
   * on PostgreSQL, where each statement is a round trip, for a purchase with no card hold,
   * no rows of another surface and no capture in the same transaction (the common
   * provider-bill purchase). The others take the statement-by-statement path.
   */
  private oneStatementDecides(row: AuthorizationRow, card: unknown, input: CreateAuthorization): boolean {
    return this.store.dialect === 'postgres' && !card && !input.recordWith && row.amount > 0 && (row.status === 'pending' || (row.status === 'approved' && input.capture === 'manual'));
  }

  /**
   * The decision as decision-statement.ts's one statement. A new authorization has no
   * CAMARA payment (those come through `recordWith`, which takes the other path), so its
   * event goes to the merchant's webhook only.
   */
  private async decideInOneStatement(row: AuthorizationRow, destinationCheck: string, claim: IdempotencyClaim | null, spendingRule: boolean): Promise<{ row: AuthorizationRow } | { refused: ErrorCode }> {
    const decide = async (db: Db | Tx, inTransaction: boolean) => {
      const decided = await decideInOne(db, {
        row,
        postings: move(row.amount, account.available(row.subscriber_id), account.held(row.subscriber_id)) as [Posting, Posting],
        webhook: row.status === 'pending' ? 'authorization.pending' : 'authorization.approved',
        detail: { destinationCheck },
        claim,
        inTransaction,
      });
      if (decided === 'lost') throw claimLost(claim!);
      return decided;
    };
    const rule = { requestedBy: 'spending-limit', now: row.created_at };
    const inTransaction = () =>
      // The disconnects the rule queues when this hold spends the rest commit with the hold.
      this.store.db.transaction().execute(async (tx) => {
        const decided = await decide(tx, true);
        if (decided === 'refused' || decided === 'rule') return { refused: await holdRefusal(tx, row.subscriber_id) };
        await queueSpendingRule(tx, row.subscriber_id, rule, decided);
        return { row };
      });
    if (spendingRule) return inTransaction();
    // No rule: the statement commits on its own, without BEGIN and COMMIT round trips. It
    // refuses a hold that would set off a rule the operator set after the holder was read
    // (it has nowhere to write the rule's requests): decided again in a transaction.
    const decided = await decide(this.store.db, false);
    if (decided === 'rule') return inTransaction();
    if (decided === 'refused') return { refused: await holdRefusal(this.store.db, row.subscriber_id) };
    return { row };
  }

  /**
   * Picks up an authorization whose key a retry took over: finishes it when it still
   * waits for the acquirer, otherwise answers with where it stands.
   */
  async resume(merchantId: string, authorizationId: string, claim: IdempotencyClaim): Promise<AuthorizationRow> {
    const row = await this.lifecycle.get(merchantId, authorizationId);
    if (row.status === 'processing') return this.lifecycle.completeAtAcquirer(row);
    await this.store.db.transaction().execute((tx) => completeClaim(tx, claim, 201, JSON.stringify(merchantView(row))));
    return row;
  }

  private async recordDeclined(row: AuthorizationRow, claim: IdempotencyClaim | null, recordWith: CreateAuthorization['recordWith']): Promise<AuthorizationRow> {
    await this.writes.run(async (tx: Tx) => {
      await insertAuthorization.run(tx, this.store.dialect, row);
      await recordWith?.(tx, row);
      await recordEvent(tx, row, 'declined', row.amount, row.created_at, 'authorization.declined', { reason: row.reason });
      if (claim) await completeClaim(tx, claim, 201, JSON.stringify(merchantView(row)));
    }).catch((e: unknown) => {
      throw keyAlreadySpent(e, claim);
    });
    return row;
  }

  /** The merchant's newest active encryption key: what merchant_bill billing details are sealed to. */
  private encryptionKeyOf(merchantId: string): Promise<{ id: string; public_key: string; algorithm: string } | undefined> {
    return this.store.db.selectFrom('merchant_keys').select(['id', 'public_key', 'algorithm']).where('merchant_id', '=', merchantId).where('use', '=', 'enc').where('status', '=', 'active').orderBy('created_at', 'desc').executeTakeFirst();
  }

  /** The vault record of the authorization's card, while the card is still on file. */
  private async cardRecordOf(row: AuthorizationRow): Promise<string | null> {
    const card = row.card_id ? await this.store.db.selectFrom('cards').select('record_id').where('id', '=', row.card_id).where('status', '=', 'active').executeTakeFirst() : undefined;
    return card?.record_id ?? null;
  }

  /** The billing details a merchant_bill purchase releases, readable by the merchant's encryption key alone. */
  private async sealBilling(recordId: string, row: Pick<AuthorizationRow, 'id' | 'merchant_id' | 'amount' | 'currency'>, key: { id: string; public_key: string; algorithm: string }): Promise<string> {
    const record = await this.vault.open<ConfidentialRecord>(recordId, 'settlement-merchant-release', `merchant:${row.merchant_id}`);
    return encryptBillingDetails({ holderName: record.holderName, cardNumber: record.number, expiry: record.expiry, amount: row.amount, currency: row.currency, authorization: row.id }, key.public_key, key.algorithm, key.id);
  }

  /**
   * The same for a purchase the subscriber confirms later: null when what allowed the
   * release at creation is gone by then (the subscriber's consent, the merchant's active
   * encryption key, the card).
   */
  private async billingFor(row: AuthorizationRow): Promise<string | null> {
    const subscriber = await this.store.db.selectFrom('subscribers').select('release_to_merchant').where('id', '=', row.subscriber_id).executeTakeFirst();
    const key = await this.encryptionKeyOf(row.merchant_id);
    const recordId = await this.cardRecordOf(row);
    if (!subscriber?.release_to_merchant || !key || !recordId) return null;
    return this.sealBilling(recordId, row, key);
  }

  /** Opens the authorization's card for the acquirer: the one path a card number takes toward a payment network. */
  private async cardFor(row: AuthorizationRow) {
    const recordId = await this.cardRecordOf(row);
    if (!recordId) throw new SidebandError('AUTHORIZATION_STATE_INVALID', 'The card of this authorization is no longer on file.');
    const record = await this.vault.open<ConfidentialRecord>(recordId, 'settlement-acquirer', `acquirer:${this.acquirer.name}:${row.id}`);
    return { number: record.number, expiry: record.expiry, holderName: record.holderName };
  }
}
