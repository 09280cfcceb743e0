import { newId } from '../core/identity/ids.ts';
import { assertLogin, assertPassword } from '../core/identity/login.ts';
import { hashPassword, type ScryptCost } from '../core/identity/password-hash.ts';
import { parseExpiry } from '../core/card/card-expiry.ts';
import { maskCard, validateCardNumber } from '../core/card/card-number.ts';
import { assertAmount, assertCurrency } from '../core/money/currency.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import type { SubscriberStatus } from '../store/schema.ts';
import type { Vault } from '../vault/vault.ts';
import { endWebSessions } from '../web/web-session-store.ts';
import { toIso } from '../core/time/to-iso.ts';
import { queuePrepaidLimits, queueSpendingRule, queueSubscriberDisconnects, viewOf, type DynamicAuthorizationView } from '../aaa/service/dynamic-authorization-queue.ts';

/** The confidential record of the seed's user table 400, as sealed in the vault. */
export interface ConfidentialRecord {
  number: string;
  expiry: string;
  holderName: string;
  creditLimit: number | null;
  creditRating: string | null;
  licenceNumber: string | null;
}

export interface SubscriberView {
  id: string;
  login: string;
  status: SubscriberStatus;
  currency: string;
  spendingLimit: number;
  amountUsed: number;
  autoApproveLimit: number | null;
  /** The seed's "special provision": merchant_bill may release billing details (as JWE) to a merchant. */
  releaseToMerchant: boolean;
  secondsAllotted: number | null;
  secondsRemaining: number | null;
  /** The spending rule: once the limit is spent, open sessions may last this many more seconds (0: disconnected); null: none. */
  spentSessionSeconds: number | null;
  createdAt: string;
  updatedAt: string;
}

/** What is shown of a card: brand, masked number, expiry. Never the number. */
export interface CardView {
  id: string;
  brand: string;
  masked: string;
  expiry: string;
  status: 'active' | 'removed';
  createdAt: string;
}

/** ITU-T E.164 with its leading `+`, as CAMARA writes phoneNumber. */
export const E164 = /^\+[1-9][0-9]{4,14}$/;

export interface AddSubscriber {
  login: string;
  password: string;
  spendingLimit?: number;
  currency?: string;
  seconds?: number | null;
  autoApproveLimit?: number | null;
}

export interface AddCard {
  number: string;
  expiry: string;
  holderName: string;
  creditLimit?: number | null;
  creditRating?: string | null;
  licenceNumber?: string | null;
}

type SubscriberRow = Awaited<ReturnType<SubscriberProvisioning['row']>>;

/**
 * Who makes a change that the subscriber's NAS must be told of (RFC 5176), and who sends
 * the requests: a gateway passes its own name as `claimedBy` and sends them at once; the
 * command line passes none, leaving them to the running gateway that holds the job.
 */
export interface ChangeOrigin {
  actor?: string;
  claimedBy?: string | null;
}

/** A change and the Disconnect- or CoA-Requests it queued for the subscriber's open sessions. */
export type WithDynamicAuthorizations<T> = T & { dynamicAuthorizations: DynamicAuthorizationView[] };

/** Operator-side management of subscribers and their confidential records. */
export class SubscriberProvisioning {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly options: { actor: string; scryptCost?: ScryptCost } = { actor: 'cli' },
  ) {}

  async add(input: AddSubscriber): Promise<SubscriberView> {
    const login = assertLogin(input.login);
    const password = assertPassword(input.password);
    const limit = assertAmount(input.spendingLimit ?? 0, 'limit');
    const currency = assertCurrency(input.currency ?? 'EUR');
    const seconds = input.seconds == null ? null : assertAmount(input.seconds, 'seconds');
    const autoApprove = input.autoApproveLimit == null ? null : assertAmount(input.autoApproveLimit, 'autoApproveLimit');
    const passwordHash = await hashPassword(password, this.options.scryptCost);
    const now = Date.now();
    const id = newId('sub', now);
    await this.store.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('subscribers').select('id').where('login', '=', login).executeTakeFirst();
      if (taken) throw new SidebandError('SUBSCRIBER_LOGIN_TAKEN', `A subscriber with login ${login} already exists.`, { param: 'login' });
      const chapRecord = await this.vault.seal(tx, 'chap-password', { password }, now);
      await tx
        .insertInto('subscribers')
        .values({
          id, login, password_hash: passwordHash, chap_record_id: chapRecord, status: 'active', currency,
          spending_limit: limit, amount_used: 0, period_start: now, auto_approve_limit: autoApprove, release_to_merchant: 0,
          seconds_allotted: seconds, seconds_remaining: seconds, created_at: now, updated_at: now,
        })
        .execute();
      await appendAudit(tx, { actor: this.options.actor, action: 'subscriber.add', subjectType: 'subscriber', subjectId: id, detail: { login, spendingLimit: limit, currency, seconds } });
    });
    return this.show(login);
  }

  private async row(loginOrId: string) {
    const row = await this.store.db.selectFrom('subscribers').selectAll().where((eb) => eb.or([eb('login', '=', loginOrId), eb('id', '=', loginOrId)])).executeTakeFirst();
    if (!row) throw new SidebandError('SUBSCRIBER_NOT_FOUND', `No subscriber ${loginOrId}.`, { param: 'login' });
    return row;
  }

  private view(row: SubscriberRow): SubscriberView {
    return {
      id: row.id, login: row.login, status: row.status, currency: row.currency, spendingLimit: row.spending_limit, amountUsed: row.amount_used,
      autoApproveLimit: row.auto_approve_limit, releaseToMerchant: row.release_to_merchant === 1, secondsAllotted: row.seconds_allotted, secondsRemaining: row.seconds_remaining,
      spentSessionSeconds: row.spent_session_seconds === null ? null : Number(row.spent_session_seconds), createdAt: toIso(row.created_at), updatedAt: toIso(row.updated_at),
    };
  }

  async show(loginOrId: string): Promise<SubscriberView & { cards: CardView[] }> {
    const row = await this.row(loginOrId);
    return { ...this.view(row), cards: await this.cards(row.id) };
  }

  async list({ status, limit = 100, after }: { status?: SubscriberStatus; limit?: number; after?: string } = {}): Promise<SubscriberView[]> {
    let q = this.store.db.selectFrom('subscribers').selectAll().orderBy('login').limit(Math.min(Math.max(limit, 1), 1000));
    if (status) q = q.where('status', '=', status);
    if (after) q = q.where('login', '>', after);
    return (await q.execute()).map((r) => this.view(r));
  }

  async cards(subscriberId: string, { includeRemoved = false } = {}): Promise<CardView[]> {
    let q = this.store.db.selectFrom('cards').selectAll().where('subscriber_id', '=', subscriberId).orderBy('created_at');
    if (!includeRemoved) q = q.where('status', '=', 'active');
    return (await q.execute()).map((c) => ({
      id: c.id, brand: c.brand, masked: maskCard(c.bin, c.last4, c.pan_length), status: c.status, createdAt: toIso(c.created_at),
      expiry: `${String(c.expiry_month).padStart(2, '0')}/${String(c.expiry_year % 100).padStart(2, '0')}`,
    }));
  }

  private async setStatus(loginOrId: string, to: SubscriberStatus, action: string, origin: ChangeOrigin = {}): Promise<WithDynamicAuthorizations<SubscriberView>> {
    const row = await this.row(loginOrId);
    if (row.status === 'closed') throw new SidebandError('SUBSCRIBER_STATUS_INVALID', `Subscriber ${row.login} is closed.`);
    const now = Date.now();
    const actor = origin.actor ?? this.options.actor;
    const queued = await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('subscribers').set({ status: to, updated_at: now }).where('id', '=', row.id).execute();
      // A suspension ends the sessions it finds open, in the same commit: the NAS is told now, not at the next log-in.
      const ids = to === 'suspended' ? await queueSubscriberDisconnects(tx, row.id, { requestedBy: actor, reason: 'subscriber-suspended', now, claimedBy: origin.claimedBy ?? null }) : [];
      // And signs them out of the portal, on every gateway.
      if (to === 'suspended') await endWebSessions(tx, 'portal', row.id);
      await appendAudit(tx, { actor, action, subjectType: 'subscriber', subjectId: row.id, detail: { from: row.status, to, ...(ids.length > 0 ? { disconnects: ids } : {}) } });
      return ids;
    });
    return { ...this.view(await this.row(row.id)), dynamicAuthorizations: await this.requests(queued) };
  }

  /** Refuses log-ins and purchases, and queues a Disconnect-Request for each open session (RFC 5176). */
  suspend(loginOrId: string, origin: ChangeOrigin = {}): Promise<WithDynamicAuthorizations<SubscriberView>> {
    return this.setStatus(loginOrId, 'suspended', 'subscriber.suspend', origin);
  }

  resume(loginOrId: string, origin: ChangeOrigin = {}): Promise<SubscriberView> {
    return this.setStatus(loginOrId, 'active', 'subscriber.resume', origin);
  }

  private async requests(ids: readonly string[]): Promise<DynamicAuthorizationView[]> {
    if (ids.length === 0) return [];
    const rows = await this.store.db.selectFrom('dynamic_authorizations').selectAll().where('id', 'in', [...ids]).orderBy('id').execute();
    return rows.map(viewOf);
  }

  /**
   * Closes the account for good: log-ins and purchases are refused from now on, and the
   * confidential data the provider no longer needs is destroyed in the same transaction
   * (every card's sealed record, the sealed password). The masked card rows, sessions and
   * purchases stay for history. Each session still open gets a Disconnect-Request
   * (RFC 5176), queued in the same transaction.
   */
  async close(loginOrId: string, origin: ChangeOrigin = {}): Promise<WithDynamicAuthorizations<SubscriberView & { cardsRemoved: number }>> {
    const row = await this.row(loginOrId);
    if (row.status === 'closed') throw new SidebandError('SUBSCRIBER_STATUS_INVALID', `Subscriber ${row.login} is already closed.`);
    const now = Date.now();
    let cardsRemoved = 0;
    const actor = origin.actor ?? this.options.actor;
    const queued = await this.store.db.transaction().execute(async (tx) => {
      // The status first: it is the write that takes SQLite's lock, before anything is read.
      await tx.updateTable('subscribers').set({ status: 'closed', chap_record_id: null, updated_at: now }).where('id', '=', row.id).execute();
      const ids = await queueSubscriberDisconnects(tx, row.id, { requestedBy: actor, reason: 'subscriber-closed', now, claimedBy: origin.claimedBy ?? null });
      await endWebSessions(tx, 'portal', row.id);
      const cards = await tx.selectFrom('cards').select(['id', 'record_id']).where('subscriber_id', '=', row.id).where('status', '=', 'active').execute();
      await tx.updateTable('cards').set({ status: 'removed', removed_at: now, record_id: null }).where('subscriber_id', '=', row.id).where('status', '=', 'active').execute();
      for (const c of cards) if (c.record_id) await this.vault.remove(tx, c.record_id);
      if (row.chap_record_id) await this.vault.remove(tx, row.chap_record_id);
      cardsRemoved = cards.length;
      await appendAudit(tx, { actor, action: 'subscriber.close', subjectType: 'subscriber', subjectId: row.id, detail: { from: row.status, cardsRemoved, ...(ids.length > 0 ? { disconnects: ids } : {}) } });
      return ids;
    });
    return { ...this.view(await this.row(row.id)), cardsRemoved, dynamicAuthorizations: await this.requests(queued) };
  }

  /**
   * Sets a new log-in password: a new scrypt hash for PAP and a new sealed copy for CHAP,
   * the old sealed copy destroyed, in one transaction. Gateways use it from their next
   * look-up of the subscriber (they keep one for a second).
   */
  async resetPassword(loginOrId: string, password: string): Promise<SubscriberView> {
    const row = await this.row(loginOrId);
    if (row.status === 'closed') throw new SidebandError('SUBSCRIBER_STATUS_INVALID', `Subscriber ${row.login} is closed.`);
    assertPassword(password);
    const passwordHash = await hashPassword(password, this.options.scryptCost);
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      const chapRecord = await this.vault.seal(tx, 'chap-password', { password }, now);
      const previous = await tx.selectFrom('subscribers').select('chap_record_id').where('id', '=', row.id).executeTakeFirstOrThrow();
      // Conditional: a `close` committed since the check above must not be undone.
      const r = await tx.updateTable('subscribers').set({ password_hash: passwordHash, chap_record_id: chapRecord, updated_at: now }).where('id', '=', row.id).where('status', '!=', 'closed').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SidebandError('SUBSCRIBER_STATUS_INVALID', `Subscriber ${row.login} is closed.`);
      if (previous.chap_record_id) await this.vault.remove(tx, previous.chap_record_id);
      // Whoever was signed in to the portal with the old password is signed out.
      await endWebSessions(tx, 'portal', row.id);
      await appendAudit(tx, { actor: this.options.actor, action: 'subscriber.reset-password', subjectType: 'subscriber', subjectId: row.id });
    });
    return this.view(await this.row(row.id));
  }

  /**
   * Changes limits. Fewer prepaid seconds than an open session was granted queue a
   * CoA-Request with what it has left, or a Disconnect-Request when nothing is
   * (`aaa/protocol/prepaid-limit.ts`), in the same transaction; so does a spending limit
   * or spending rule under which what the subscriber spent is now all they may
   * (`queueSpendingRule`).
   */
  async setLimit(loginOrId: string, change: { spendingLimit?: number; autoApproveLimit?: number | null; seconds?: number | null; releaseToMerchant?: boolean; spentSessionSeconds?: number | null }, origin: ChangeOrigin = {}): Promise<WithDynamicAuthorizations<SubscriberView>> {
    const row = await this.row(loginOrId);
    const patch: Record<string, number | null> = {};
    if (change.releaseToMerchant !== undefined) patch.release_to_merchant = change.releaseToMerchant ? 1 : 0;
    if (change.spendingLimit !== undefined) patch.spending_limit = assertAmount(change.spendingLimit, 'limit');
    if (change.autoApproveLimit !== undefined) patch.auto_approve_limit = change.autoApproveLimit === null ? null : assertAmount(change.autoApproveLimit, 'autoApproveLimit');
    if (change.spentSessionSeconds !== undefined) patch.spent_session_seconds = change.spentSessionSeconds === null ? null : assertAmount(change.spentSessionSeconds, 'spentSessionSeconds');
    if (change.seconds !== undefined) {
      const s = change.seconds === null ? null : assertAmount(change.seconds, 'seconds');
      patch.seconds_allotted = s;
      patch.seconds_remaining = s;
    }
    const now = Date.now();
    const actor = origin.actor ?? this.options.actor;
    const queued = await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('subscribers').set({ ...patch, updated_at: now }).where('id', '=', row.id).execute();
      const o = { requestedBy: actor, now, claimedBy: origin.claimedBy ?? null };
      const ids = change.seconds !== undefined ? await queuePrepaidLimits(tx, row.id, patch.seconds_remaining ?? null, o) : [];
      if (change.spendingLimit !== undefined || change.spentSessionSeconds !== undefined) ids.push(...(await queueSpendingRule(tx, row.id, o)));
      await appendAudit(tx, { actor, action: 'subscriber.set-limit', subjectType: 'subscriber', subjectId: row.id, detail: { ...patch, ...(ids.length > 0 ? { dynamicAuthorizations: ids } : {}) } });
      return ids;
    });
    return { ...this.view(await this.row(row.id)), dynamicAuthorizations: await this.requests(queued) };
  }

  /**
   * Registers the subscriber's phone number (E.164, `+` and 5 to 15 digits), CAMARA's
   * `phoneNumber` identifier (docs/camara.md); null removes it. A number names one subscriber.
   */
  async setPhoneNumber(loginOrId: string, phoneNumber: string | null): Promise<SubscriberView> {
    const row = await this.row(loginOrId);
    if (phoneNumber !== null && !E164.test(phoneNumber)) throw new SidebandError('SUBSCRIBER_PHONE_NUMBER_INVALID', 'A phone number is E.164: + and 5 to 15 digits, the first not 0, such as +34671999000.', { param: 'phoneNumber' });
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      if (phoneNumber !== null) {
        const holder = await tx.selectFrom('subscribers').select('login').where('phone_number', '=', phoneNumber).where('id', '!=', row.id).executeTakeFirst();
        if (holder) throw new SidebandError('SUBSCRIBER_PHONE_NUMBER_TAKEN', `Another subscriber (${holder.login}) has that phone number.`, { param: 'phoneNumber' });
      }
      await tx.updateTable('subscribers').set({ phone_number: phoneNumber, updated_at: now }).where('id', '=', row.id).execute();
      await appendAudit(tx, { actor: this.options.actor, action: 'subscriber.set-phone-number', subjectType: 'subscriber', subjectId: row.id });
    });
    return this.view(await this.row(row.id));
  }

  /** Validates, seals and files a card. Nothing is written if any step fails. */
  async addCard(loginOrId: string, input: AddCard): Promise<CardView> {
    const row = await this.row(loginOrId);
    const card = validateCardNumber(input.number);
    const expiry = parseExpiry(input.expiry);
    const holderName = input.holderName.trim();
    if (!holderName) throw new SidebandError('REQUEST_INVALID', 'The card holder name is empty.', { param: 'holder' });
    const record: ConfidentialRecord = {
      number: card.number, expiry: input.expiry.trim(), holderName,
      creditLimit: input.creditLimit == null ? null : assertAmount(input.creditLimit, 'creditLimit'),
      creditRating: input.creditRating ?? null, licenceNumber: input.licenceNumber ?? null,
    };
    const fingerprint = await this.vault.fingerprint(card.number);
    const now = Date.now();
    const id = newId('card', now);
    await this.store.db.transaction().execute(async (tx) => {
      const dup = await tx.selectFrom('cards').select('id').where('subscriber_id', '=', row.id).where('fingerprint', '=', fingerprint).where('status', '=', 'active').executeTakeFirst();
      if (dup) throw new SidebandError('VAULT_CARD_DUPLICATE', `This card (${maskCard(card.bin, card.last4, card.number.length)}) is already on file as ${dup.id}.`, { param: 'number' });
      const recordId = await this.vault.seal(tx, 'card', record, now);
      await tx
        .insertInto('cards')
        .values({ id, subscriber_id: row.id, record_id: recordId, brand: card.brand, bin: card.bin, last4: card.last4, pan_length: card.number.length, expiry_month: expiry.month, expiry_year: expiry.year, fingerprint, status: 'active', created_at: now, removed_at: null, credit_used: 0 })
        .execute();
      await appendAudit(tx, { actor: this.options.actor, action: 'card.add', subjectType: 'subscriber', subjectId: row.id, detail: { card: id, brand: card.brand, masked: maskCard(card.bin, card.last4, card.number.length) } });
    });
    return (await this.cards(row.id)).find((c) => c.id === id)!;
  }

  /** Removes the card and destroys its sealed record; the masked row stays for history. */
  async removeCard(loginOrId: string, cardId: string): Promise<void> {
    const row = await this.row(loginOrId);
    const card = await this.store.db.selectFrom('cards').selectAll().where('id', '=', cardId).where('subscriber_id', '=', row.id).where('status', '=', 'active').executeTakeFirst();
    if (!card) throw new SidebandError('CARD_NOT_FOUND', `Subscriber ${row.login} has no active card ${cardId}.`, { param: 'card' });
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('cards').set({ status: 'removed', removed_at: now, record_id: null }).where('id', '=', card.id).execute();
      if (card.record_id) await this.vault.remove(tx, card.record_id);
      await appendAudit(tx, { actor: this.options.actor, action: 'card.remove', subjectType: 'subscriber', subjectId: row.id, detail: { card: card.id, masked: maskCard(card.bin, card.last4, card.pan_length) } });
    });
  }
}
