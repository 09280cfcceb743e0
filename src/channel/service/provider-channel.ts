import { randomBytes } from 'node:crypto';
import { type ChannelEndpoint, type ChannelOutcome, type Peer, checkDirection, type Party, type ChannelItem } from '@sideband/channel';
import type { ChannelExchangeView as ChannelExchange } from '../../certification/api/contract/merchant-api-schemas.ts';
import type { WebhookSigner } from '../../certification/webhooks/webhook-signer.ts';
import { completeClaim, type IdempotencyClaim } from '../../certification/api/idempotency.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ConfidentialRecord } from '../../provisioning/subscribers.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { newId } from '../../core/identity/ids.ts';
import { PreparedInsert, PreparedStatement, allColumns } from '../../store/prepared-statement.ts';
import { DurableWrites } from '../../store/durable-writes.ts';
import type { Dialect, Store, Tx } from '../../store/open-store.ts';
import type { ChannelExchangeTable, SettlementPreference } from '../../store/schema.ts';
import type { AuditedRecord, Vault } from '../../vault/vault.ts';

/**
 * How long an exchange set up but not yet active may still carry the card: far beyond a
 * reservation (channel.reservationSeconds, at most an hour) and a call's set-up.
 */
const PENDING_MS = 2 * 3_600_000;

/** What decides whether a merchant may receive the subscriber's card for a purchase. */
interface CardRelease {
  settlement: SettlementPreference | null;
  releaseToMerchant: boolean;
  /** The secure channel is switched on (on, or once) for this merchant. */
  switchedOn: boolean;
}

export interface ExchangeRequest {
  exchangeId?: string;
  authorizationId: string;
  firstSender: Party;
  items: { provider: number; merchant: number };
  /** When the provider sends first, the merchant (callee) supplies its reserved number and token. */
  number?: string;
  token?: string;
}

/** An exchange as the merchant API and the portal show it: the contract's type, so both agree. */
export type ExchangeView = ChannelExchange;

const EXCHANGE_ID = /^exc_[A-Za-z0-9_-]{16,64}$/;

/**
 * ProviderChannel.activateInOneStatement's statement: `active` for an exchange still
 * negotiating or calling, then — asked to, and only if that update happened — the
 * subscriber's oldest active card's vault record and the audit entry of its decryption,
 * with Vault.auditOpen's detail, byte for byte (the key id among those the keyring holds).
 */
const activateWithAudit = new PreparedStatement<{ marked: number; record_id: string | null; key_id: string | null; wrapped_key: string | null; ciphertext: string | null; audited: number }>(
  `with marked as (
     update channel_exchanges set status = 'active', active_at = ? where id = ? and status in ('negotiating', 'calling') returning id
   ), card as (
     select c.record_id, v.kind, v.key_id, v.wrapped_key, v.ciphertext
     from cards c left join vault_records v on v.id = c.record_id
     where ?::boolean and exists (select 1 from marked) and c.subscriber_id = ? and c.status = 'active'
     order by c.created_at limit 1
   ), audit as (
     insert into audit_log (id, at, actor, action, subject_type, subject_id, detail)
     select ?, ?, ?, 'vault.decrypt', 'vault_record', card.record_id,
            '{"purpose":"secure-channel","kind":' || to_json(card.kind)::text || ',"keyId":' || to_json(card.key_id)::text || '}'
     from card where card.key_id = any(?::text[])
     returning id
   )
   select (select count(*) from marked)::int as marked, card.record_id, card.key_id, card.wrapped_key, card.ciphertext, (select count(*) from audit)::int as audited
   from (values (1)) as one left join card on true`,
);

// Every exchange runs the statements below: written once as SQL, not built by Kysely's
// query builder per call, which cost the gateway more CPU than the statements themselves.

/** authorizationAndPeer's query. */
const authorizationWithPeer = new PreparedStatement<{
  channel_url: string | null; channel_line: string | null; channel_fingerprint: string | null; merchant_id: string | null; subscriber_id: string | null;
  status: string | null; settlement: SettlementPreference | null; release_to_merchant: number | null; mode: string | null;
}>(
  `select m.channel_url, m.channel_line, m.channel_fingerprint, a.merchant_id, a.subscriber_id, a.status, a.settlement, s.release_to_merchant, cp.mode
   from merchants m
   left join authorizations a on a.id = ? and a.merchant_id = m.id
   left join subscribers s on s.id = a.subscriber_id
   left join channel_preferences cp on cp.subscriber_id = a.subscriber_id and cp.merchant_id = m.id
   where m.id = ?`,
);
const lockAuthorization = new PreparedStatement<{ id: string }>('select id from authorizations where id = ? for update');
/** checkNoCardSent's question: another exchange of the authorization that carries (or may still carry) its card. */
const exchangeCarryingCard = new PreparedStatement<{ id: string }>(
  `select id from channel_exchanges
   where authorization_id = ? and items_out > 0 and id != ?
     and (active_at is not null or (status in ('negotiating', 'calling') and created_at > ?))
   limit 1`,
);
const insertExchange = new PreparedInsert<ChannelExchangeTable>('channel_exchanges', allColumns<ChannelExchangeTable>({
  id: true, merchant_id: true, authorization_id: true, subscriber_id: true, initiator: true, first_sender: true, provider_role: true,
  number: true, items_out: true, items_in: true, status: true, cause: true, fallback: true, created_at: true, active_at: true, ended_at: true,
}));
const markActive = new PreparedStatement(`update channel_exchanges set status = 'active', active_at = ? where id = ? and status in ('negotiating', 'calling')`);
const activeCard = new PreparedStatement<{ record_id: string | null }>(`select record_id from cards where subscriber_id = ? and status = 'active' order by created_at limit 1`);
const markEnded = new PreparedStatement('update channel_exchanges set status = ?, cause = ?, ended_at = ? where id = ?');

/** Goods a merchant may send back over an exchange the provider started on approval, not knowing what was bought. */
export const GOODS_UP_TO_ON_APPROVAL = 16;

/**
 * The provider's (originating) end of the secure channel. It negotiates over the data
 * network — merchants call the signed merchant API, the provider calls the merchant's
 * endpoint signing with its own key — and moves the subscriber's card, opened from the
 * vault for this purpose only, over the call; goods come back the same way.
 */
export class ProviderChannel {
  /** Goods received per exchange, for the subscriber's portal; in memory only. */
  readonly goods = new Map<string, ChannelItem[]>();

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    readonly endpoint: ChannelEndpoint,
    private readonly signer: WebhookSigner,
    private readonly logger: Logger,
    /** The channel's commits; shared with the exchange's call detail records so that they share fsyncs. */
    private readonly writes: DurableWrites = new DurableWrites(store),
  ) {}

  capabilities(): { supported: true; lineNumber: string; fingerprint: string } {
    return { supported: true, lineNumber: this.endpoint.lineNumber, fingerprint: this.endpoint.fingerprint };
  }

  private peerOf(m: { channel_url: string | null; channel_line: string | null; channel_fingerprint: string | null }, merchantId: string): Peer & { url: string } {
    if (!m.channel_url || !m.channel_line || !m.channel_fingerprint) throw new SidebandError('CHANNEL_NOT_CONFIGURED', `Merchant ${merchantId} has no channel endpoint registered.`);
    return { party: 'merchant', lineNumber: m.channel_line, fingerprint: m.channel_fingerprint, url: m.channel_url };
  }

  private static checkAuthorization<A extends { merchant_id: string | null; status: string | null }>(a: A | undefined, merchantId: string, id: string): asserts a is A & { merchant_id: string; status: string } {
    if (!a || a.merchant_id !== merchantId) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`, { param: 'authorizationId' });
    if (a.status !== 'approved' && a.status !== 'captured') throw new SidebandError('AUTHORIZATION_STATE_INVALID', `Authorization ${id} is ${a.status}; the channel carries data only for an approved purchase.`);
  }

  /**
   * The merchant's approved authorization and its channel registration, in one query, with
   * what decides whether the subscriber's card may go to this merchant (checkCardRelease).
   */
  private async authorizationAndPeer(merchantId: string, id: string): Promise<{ subscriberId: string; peer: Peer & { url: string }; cardRelease: CardRelease }> {
    const r = await authorizationWithPeer.first(this.store.db, this.store.dialect, [id, merchantId]);
    ProviderChannel.checkAuthorization(r, merchantId, id);
    return { subscriberId: r.subscriber_id!, peer: this.peerOf(r, merchantId), cardRelease: { settlement: r.settlement, releaseToMerchant: r.release_to_merchant === 1, switchedOn: r.mode !== null } };
  }

  /**
   * A merchant asking for the card (Fig. 4: it charges the card through its own acquirer)
   * gets it only with the subscriber's consent: the same consent that releases billing
   * details to merchants (`subscriber set-limit --allow-merchant-billing`), or the secure
   * channel switched on for this merchant. A purchase on the provider's bill involves no
   * card, so its card is never released.
   */
  private static checkCardRelease(release: CardRelease, authorizationId: string): void {
    if (release.settlement === 'provider_bill') throw new SidebandError('CHANNEL_CARD_NOT_RELEASED', `Authorization ${authorizationId} is settled on the provider's bill; no card is released for it.`, { param: 'items.provider' });
    if (!release.releaseToMerchant && !release.switchedOn) throw new SidebandError('CHANNEL_CARD_NOT_RELEASED', `The subscriber of authorization ${authorizationId} has not agreed to release card details to merchants, nor switched the secure channel on for yours.`, { param: 'items.provider' });
  }

  /**
   * What the exchange does once its call is up and both certificates are checked: it is
   * marked `active`, and — when this end sends first, so that the card follows at once —
   * the card's vault record is read and its decryption audited, all in one commit, then
   * opened: one commit, not one for the status and another for Vault.open's audit entry,
   * between the call coming up and the card leaving (on SQLite each is an fsync that
   * blocks the event loop). A decryption still happens only after its audit entry is
   * durable, and only for an exchange that is active (the conditional update).
   * As callee the card is opened only when it is to be sent (after the caller's items).
   */
  private activation(exchangeId: string, subscriberId: string, itemsOut: number, sendsFirst: boolean): { onActive: () => void; outgoing: () => Promise<ChannelItem[]> } {
    let opened: Promise<ChannelItem[]> | null = null;
    const activate = (withCard: boolean): Promise<ChannelItem[]> =>
      (this.store.dialect === 'postgres'
        ? this.activateInOneStatement(exchangeId, subscriberId, withCard)
        : this.writes.run(async (tx) => {
            if ((await markActive.run(tx, 'sqlite', [Date.now(), exchangeId])) !== 1) return null;
            return withCard ? this.auditCard(tx, subscriberId, exchangeId) : null;
          })
      ).then((sealed) => (sealed ? this.openCard(sealed) : []));
    return {
      onActive: () => {
        opened = activate(itemsOut > 0 && sendsFirst);
        // Failures surface in outgoing(); an exchange that sends nothing only logs them.
        opened.catch((e: unknown) => this.logger.error({ err: e, exchange: exchangeId }, 'could not mark the exchange active'));
      },
      outgoing: async () => {
        if (itemsOut === 0) return [];
        try {
          if (sendsFirst) return await (opened ?? activate(true));
          return await this.writes.run((tx) => this.auditCard(tx, subscriberId, exchangeId)).then((sealed) => (sealed ? this.openCard(sealed) : []));
        } catch (e) {
          // Nothing is sent without its audit entry; the peer sees too few items.
          this.logger.error({ err: e, exchange: exchangeId }, 'the card could not be opened for the exchange');
          return [];
        }
      },
    };
  }

  /**
   * The activation on PostgreSQL as one statement, committed on its own: one round trip
   * where the transaction took six (BEGIN, the update, the card, its vault record, the
   * audit entry, COMMIT). Vault.auditOpen's guarantees hold: the entry is written only for
   * an exchange this statement made active and a record under a master key this keyring
   * holds. A record under another key (a rotation this gateway has not read yet) or gone
   * from the vault is left to auditCard on its own, which reads the keyring again or fails
   * before anything is audited.
   */
  private async activateInOneStatement(exchangeId: string, subscriberId: string, withCard: boolean): Promise<AuditedRecord | null> {
    const at = Date.now();
    const r = await activateWithAudit.first(this.store.db, 'postgres', [at, exchangeId, withCard, subscriberId, newId('aud', at), at, `channel:${exchangeId}`, this.vault.keyring.ids]);
    if (!r || r.marked !== 1 || !withCard || r.record_id === null) return null;
    if (r.audited === 1 && r.key_id !== null && r.wrapped_key !== null && r.ciphertext !== null) return { id: r.record_id, keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.ciphertext };
    return this.writes.run((tx) => this.auditCard(tx, subscriberId, exchangeId));
  }

  /** In `tx`: the subscriber's active card's vault record, and the audit entry of its decryption (Vault.auditOpen). */
  private async auditCard(tx: Tx, subscriberId: string, exchangeId: string) {
    const card = await activeCard.first(tx, this.store.dialect, [subscriberId]);
    if (!card?.record_id) return null;
    return this.vault.auditOpen(tx, card.record_id, 'secure-channel', `channel:${exchangeId}`);
  }

  private openCard(sealed: AuditedRecord): ChannelItem[] {
    const r = this.vault.openAudited<ConfidentialRecord>(sealed);
    return [{ kind: 'card', contentType: 'application/json', data: JSON.stringify({ number: r.number, expiry: r.expiry, holderName: r.holderName }) }];
  }

  /**
   * Records the exchange and, in the same commit, the answer its Idempotency-Key replays
   * (when the request carried one): one commit where there were two, and no moment at
   * which the exchange exists but a retry of its request would run it again. The call is
   * placed only after this commit, so everything the answer acknowledges is durable.
   * The job may run again after its transaction rolled back (group-commit.ts): it writes
   * nothing outside it.
   */
  private async record<V extends ExchangeView>(row: ChannelExchangeTable, answer: V, claim: IdempotencyClaim | null): Promise<V> {
    await this.writes.run(async (tx) => {
      if (row.items_out > 0 && row.authorization_id !== null) await ProviderChannel.checkNoCardSent(tx, this.store.dialect, row.authorization_id, row.id, row.created_at);
      await insertExchange.run(tx, this.store.dialect, row);
      if (claim) await completeClaim(tx, claim, 201, JSON.stringify(answer));
    }).catch((e: unknown) => {
      // The merchant chose an id an exchange has already: theirs to fix, not a fault to retry.
      if (isUniqueViolation(e)) throw new SidebandError('CHANNEL_EXCHANGE_ID_TAKEN', `An exchange ${row.id} exists already; choose a new exchangeId (or retry with the Idempotency-Key that created it).`, { param: 'exchangeId' });
      throw e;
    });
    return answer;
  }

  /**
   * One card per purchase, whoever starts the exchange: refused while another exchange
   * carrying the card of the same authorization may have sent it (it became active: the
   * card is opened only then, and an exchange that failed afterwards may have delivered it)
   * or may still do so (set up within PENDING_MS and not failed). One that failed before
   * becoming active may be retried, and one stuck before it (a restart) stops counting.
   * On PostgreSQL the authorization's row is locked first, so that two requests at once are
   * decided one after the other; SQLite's group commit runs them one after the other anyway.
   */
  private static async checkNoCardSent(tx: Tx, dialect: Dialect, authorizationId: string, exchangeId: string, now: number): Promise<void> {
    if (dialect === 'postgres') await lockAuthorization.all(tx, dialect, [authorizationId]);
    // The same exchange id again is refused by its insert (CHANNEL_EXCHANGE_ID_TAKEN), as a retry is told.
    const other = await exchangeCarryingCard.first(tx, dialect, [authorizationId, exchangeId, now - PENDING_MS]);
    if (other) throw new SidebandError('CHANNEL_CARD_ALREADY_SENT', `Exchange ${other.id} carries the card of authorization ${authorizationId} already; one exchange per purchase carries it (one that failed before it became active may be retried).`, { param: 'authorizationId' });
  }

  /** The outcome, and its audit entry, in one commit. */
  private async finish(id: string, outcome: ChannelOutcome): Promise<void> {
    await this.writes.run(async (tx) => {
      await markEnded.run(tx, this.store.dialect, [outcome.ok ? 'completed' : 'failed', outcome.ok ? null : outcome.cause, Date.now(), id]);
      await appendAudit(tx, { actor: 'channel', action: outcome.ok ? 'channel.completed' : 'channel.failed', subjectType: 'channel_exchange', subjectId: id, detail: { sent: outcome.sent, received: outcome.received.length, ...(outcome.ok ? {} : { cause: outcome.cause }) } });
    });
    if (outcome.received.length) this.goods.set(id, outcome.received);
    this.logger.info({ exchange: id, ok: outcome.ok, ...(outcome.ok ? {} : { cause: outcome.cause, detail: outcome.detail }) }, 'secure-channel exchange ended');
  }

  /** Records the outcome once the exchange is over; a failure to do so is logged, never left unhandled. */
  private finishWhenOver(id: string, outcome: Promise<ChannelOutcome>): void {
    outcome.then((o) => this.finish(id, o)).catch((e: unknown) => this.logger.error({ err: e, exchange: id }, 'could not record the end of a secure-channel exchange'));
  }

  private viewOf(r: ChannelExchangeTable): ExchangeView {
    return {
      id: r.id, status: r.status, cause: r.cause, active: r.status === 'active', initiator: r.initiator, firstSender: r.first_sender, providerRole: r.provider_role,
      fallback: r.fallback, itemsSent: r.status === 'completed' ? r.items_out : 0, itemsReceived: this.goods.get(r.id)?.length ?? 0,
    };
  }

  /**
   * Fig. 4 of the source document: the merchant asks (signed merchant API). If the
   * provider sends first, the merchant supplied a number and the provider calls it; if the
   * merchant sends first, the provider reserves a number and returns it with a token.
   */
  async merchantInitiated(merchantId: string, req: ExchangeRequest, claim: IdempotencyClaim | null = null): Promise<ExchangeView> {
    const exchangeId = req.exchangeId ?? `exc_${randomBytes(12).toString('base64url')}`;
    if (!EXCHANGE_ID.test(exchangeId)) throw new SidebandError('FIELD_INVALID', 'exchangeId is exc_ followed by 16 to 64 letters, digits, _ or -.', { param: 'exchangeId' });
    const numberBy: Party = req.number ? 'merchant' : 'provider';
    const direction = checkDirection(req.firstSender, numberBy);
    if (!direction.ok) throw new SidebandError('CHANNEL_DIRECTION_RULE', req.firstSender === 'merchant' ? 'You send first, so you place the call: do not send a number.' : 'The provider sends first, so it calls you: supply a number (and token) from your pool.', { param: 'number' });
    const { subscriberId, peer, cardRelease } = await this.authorizationAndPeer(merchantId, req.authorizationId);
    if (req.items.provider > 0) ProviderChannel.checkCardRelease(cardRelease, req.authorizationId);
    const providerRole = direction.roles.caller === 'provider' ? 'caller' : 'callee';
    const now = Date.now();
    const base: ChannelExchangeTable = {
      id: exchangeId, merchant_id: merchantId, authorization_id: req.authorizationId, subscriber_id: subscriberId, initiator: 'merchant', first_sender: req.firstSender, provider_role: providerRole,
      number: req.number ?? null, items_out: req.items.provider, items_in: req.items.merchant, status: providerRole === 'caller' ? 'calling' : 'negotiating', cause: null, fallback: null, created_at: now, active_at: null, ended_at: null,
    };
    const plan = { exchangeId, peer, expectIncoming: req.items.merchant, ...this.activation(exchangeId, subscriberId, req.items.provider, req.firstSender === 'provider') };
    if (providerRole === 'caller') {
      if (!req.token) throw new SidebandError('FIELD_INVALID', 'token is required with number.', { param: 'token' });
      const view = await this.record(base, this.viewOf(base), claim);
      // Acknowledged by this answer; the call follows at once.
      this.finishWhenOver(exchangeId, this.endpoint.placeCall({ ...plan, number: req.number!, token: req.token }));
      return view;
    }
    const reserved = this.endpoint.reserve(plan);
    if (!reserved) throw new SidebandError('CHANNEL_POOL_EXHAUSTED', 'No number of the provider\'s pool is free.');
    const row = { ...base, number: reserved.number };
    const view = await this.record(row, { ...this.viewOf(row), number: reserved.number, token: reserved.token }, claim).catch((e: unknown) => {
      this.endpoint.cancelReservation(reserved.number, exchangeId);
      throw e;
    });
    this.finishWhenOver(exchangeId, reserved.outcome);
    return view;
  }

  /**
   * Fig. 5: the provider initiates (the subscriber switched "secure" on). It asks the
   * merchant's endpoint whether it supports the channel, sends the plan, and — the
   * provider sending the card first — calls the number the merchant reserved.
   */
  async providerInitiated(authorizationId: string, items: { merchant: number; upTo?: number } = { merchant: 0 }): Promise<ExchangeView> {
    const a = await this.store.db.selectFrom('authorizations').select(['merchant_id']).where('id', '=', authorizationId).executeTakeFirst();
    if (!a) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${authorizationId}.`);
    const { subscriberId, peer } = await this.authorizationAndPeer(a.merchant_id, authorizationId);
    const exchangeId = `exc_${randomBytes(12).toString('base64url')}`;
    const post = async (path: string, body: unknown) => {
      const url = new URL(path, peer.url).toString();
      const text = JSON.stringify(body ?? {});
      const res = await fetch(url, { method: 'POST', headers: this.signer.signedHeaders('POST', url, text), body: text, signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
    };
    let offer;
    try {
      offer = await post('channel/exchanges', { exchangeId, authorizationId, firstSender: 'provider', items: { provider: 1, merchant: items.merchant }, ...(items.upTo !== undefined ? { merchantItemsUpTo: items.upTo } : {}) });
    } catch (e) {
      throw new SidebandError('CHANNEL_UNAVAILABLE', `The merchant's channel endpoint did not answer: ${(e as Error).message}`);
    }
    if (offer.status !== 201 || typeof offer.body.number !== 'string' || typeof offer.body.token !== 'string') {
      throw new SidebandError('CHANNEL_UNAVAILABLE', `The merchant's channel endpoint refused: ${JSON.stringify(offer.body).slice(0, 200)}`);
    }
    // With an upper bound offered, the merchant's answer names how many goods it sends (an
    // endpoint that does not know the bound echoes the offer); the call expects exactly that.
    const answered = (offer.body.items as { merchant?: unknown } | undefined)?.merchant;
    const merchantItems = items.upTo === undefined || answered === undefined ? items.merchant : Number.isInteger(answered) ? (answered as number) : NaN;
    if (!(merchantItems >= items.merchant && merchantItems <= (items.upTo ?? items.merchant))) {
      throw new SidebandError('CHANNEL_UNAVAILABLE', `The merchant's channel endpoint answered ${JSON.stringify(answered)} goods; ${items.merchant} to ${items.upTo ?? items.merchant} were offered.`);
    }
    const row: ChannelExchangeTable = {
      id: exchangeId, merchant_id: a.merchant_id, authorization_id: authorizationId, subscriber_id: subscriberId, initiator: 'provider', first_sender: 'provider', provider_role: 'caller',
      number: offer.body.number, items_out: 1, items_in: merchantItems, status: 'calling', cause: null, fallback: null, created_at: Date.now(), active_at: null, ended_at: null,
    };
    const view = await this.record(row, this.viewOf(row), null);
    await post(`channel/exchanges/${exchangeId}/ack`, {}).catch(() => undefined);
    this.finishWhenOver(exchangeId, this.endpoint.placeCall({ exchangeId, peer, number: offer.body.number, token: offer.body.token, expectIncoming: merchantItems, ...this.activation(exchangeId, subscriberId, 1, true) }));
    return view;
  }

  async view(id: string, merchantId?: string): Promise<ExchangeView> {
    const r = await this.store.db.selectFrom('channel_exchanges').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r || (merchantId && r.merchant_id !== merchantId)) throw new SidebandError('CHANNEL_EXCHANGE_NOT_FOUND', `No exchange ${id}.`);
    return this.viewOf(r);
  }

  /** The subscriber's "secure" switch for a merchant: for the next purchase, until switched off, or off. */
  async setPreference(subscriberId: string, merchantId: string, mode: 'once' | 'on' | 'off'): Promise<void> {
    await this.store.db.deleteFrom('channel_preferences').where('subscriber_id', '=', subscriberId).where('merchant_id', '=', merchantId).execute();
    if (mode !== 'off') await this.store.db.insertInto('channel_preferences').values({ subscriber_id: subscriberId, merchant_id: merchantId, mode, updated_at: Date.now() }).execute();
  }

  /**
   * Called on every approval: if the subscriber switched the channel on for this merchant,
   * the provider starts the exchange (fig. 5); a one-off switch is used up. `knownMode`:
   * the switch as the approving request read it (null: off), saving a round trip.
   */
  async onApproved(a: { id: string; subscriber_id: string; merchant_id: string }, knownMode?: string | null): Promise<ExchangeView | null> {
    const mode = knownMode !== undefined ? knownMode : ((await this.store.db.selectFrom('channel_preferences').select('mode').where('subscriber_id', '=', a.subscriber_id).where('merchant_id', '=', a.merchant_id).executeTakeFirst())?.mode ?? null);
    if (mode === null) return null;
    if (mode === 'once') await this.setPreference(a.subscriber_id, a.merchant_id, 'off');
    return this.providerInitiated(a.id, { merchant: 0, upTo: GOODS_UP_TO_ON_APPROVAL });
  }

  /** The subscriber's command to end the exchange now. */
  async end(id: string): Promise<ExchangeView> {
    const view = await this.view(id);
    if (view.status === 'completed' || view.status === 'failed' || !this.endpoint.endExchange(id)) throw new SidebandError('CHANNEL_EXCHANGE_STATE_INVALID', `Exchange ${id} is ${view.status}; only a live one can be ended.`);
    return view;
  }

  /** The subscriber's choice when the channel could not be set up: conventional Internet, or abort. */
  async fallback(id: string, choice: 'internet' | 'abort'): Promise<ExchangeView> {
    const r = await this.store.db.selectFrom('channel_exchanges').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new SidebandError('CHANNEL_EXCHANGE_NOT_FOUND', `No exchange ${id}.`);
    if (r.status !== 'failed') throw new SidebandError('CHANNEL_EXCHANGE_STATE_INVALID', `Exchange ${id} is ${r.status}; a fallback is chosen only when the channel failed.`);
    await this.store.db.updateTable('channel_exchanges').set({ fallback: choice }).where('id', '=', id).execute();
    return this.view(id);
  }
}
