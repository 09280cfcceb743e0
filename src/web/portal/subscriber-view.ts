import type { ProviderChannel } from '../../channel/service/provider-channel.ts';
import { subscriberStatement, type StatementLine } from '../../certification/subscriber-statement.ts';
import { toIso } from '../../core/time/to-iso.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { SubscriberProvisioning, SubscriberView, CardView } from '../../provisioning/subscribers.ts';
import type { Store } from '../../store/open-store.ts';
import type { DestinationTracking } from '../../tracking/service/destination-tracking.ts';

export interface CurrentSession {
  id: string;
  status: string;
  since: string | null;
  nas: string;
  address: string | null;
  portFirst: number | null;
  portLast: number | null;
  /** The IPv6 prefixes (and Framed-IPv6-Address) it holds, as `prefix/length`. */
  ipv6: string[];
  /** Prepaid seconds left now: the balance less this session's time so far; null when the subscriber has no prepaid time. */
  secondsLeft: number | null;
  destinations: Array<{ destination: string; lastSeen: string; flows: number }>;
}

export interface Purchase {
  id: string;
  merchant: string;
  merchantId: string;
  status: string;
  reason: string | null;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  settlement: string;
  description: string | null;
  createdAt: string;
  expiresAt: string | null;
  movements: Array<{ type: 'capture' | 'refund'; amount: number; at: string }>;
}

export interface SecurePreference {
  merchantId: string;
  merchant: string;
  mode: 'once' | 'on' | 'off';
}

export interface ExchangeSummary {
  id: string;
  merchant: string;
  authorizationId: string | null;
  status: string;
  cause: string | null;
  fallback: 'internet' | 'abort' | null;
  createdAt: string;
  activeAt: string | null;
  endedAt: string | null;
  itemsReceived: number;
  /** The goods the merchant sent over the call: text shown as it is, anything else by its type and size. */
  goods: ReceivedGoods[];
}

export interface ReceivedGoods {
  contentType: string | null;
  text: string | null;
  bytes: number;
}

/** Text goods (a ticket or download code) as text; other goods are only described. */
function receivedGoods(item: { contentType?: string; data: string }): ReceivedGoods {
  const body = Buffer.from(item.data, 'base64');
  const text = /^text\/plain\b/i.test(item.contentType ?? '') && body.length <= 4096 ? body.toString('utf8') : null;
  return { contentType: item.contentType ?? null, text, bytes: body.length };
}

/**
 * What one subscriber may see and do, and nothing else: every query here is filtered by
 * the signed-in subscriber's id, so that a portal session cannot name another's purchase
 * or exchange. Money moves only through the authorization lifecycle and the channel.
 */
export class SubscriberPortalView {
  constructor(
    private readonly store: Store,
    private readonly subscribers: SubscriberProvisioning,
    private readonly tracking: DestinationTracking,
    private readonly channel: () => ProviderChannel | null,
  ) {}

  account(subscriberId: string): Promise<SubscriberView & { cards: CardView[] }> {
    return this.subscribers.show(subscriberId);
  }

  /** The subscriber's own threshold under which purchases are approved without asking; null: always ask. */
  async setAutoApprove(subscriberId: string, amount: number | null): Promise<void> {
    await this.subscribers.setLimit(subscriberId, { autoApproveLimit: amount });
  }

  async currentSession(subscriberId: string, now = Date.now()): Promise<CurrentSession | null> {
    const s = await this.store.db.selectFrom('sessions').innerJoin('nas_clients', 'nas_clients.id', 'sessions.nas_id')
      .select(['sessions.id', 'sessions.status', 'sessions.started_at', 'sessions.authorized_at', 'nas_clients.name as nas'])
      .where('sessions.subscriber_id', '=', subscriberId).where('sessions.status', '!=', 'closed')
      .orderBy('sessions.last_seen_at', 'desc').limit(1).executeTakeFirst();
    if (!s) return null;
    const binding = await this.store.db.selectFrom('bindings').select(['address', 'port_first', 'port_last']).where('session_id', '=', s.id).where('end_at', 'is', null).orderBy('start_at', 'desc').limit(1).executeTakeFirst();
    const prefixes = await this.store.db.selectFrom('prefix_bindings').select(['network', 'prefix_length']).where('session_id', '=', s.id).where('end_at', 'is', null).orderBy('prefix_length').execute();
    const sub = await this.store.db.selectFrom('subscribers').select('seconds_remaining').where('id', '=', subscriberId).executeTakeFirstOrThrow();
    const since = s.started_at ?? s.authorized_at;
    // The balance is charged at Stop (aaa/protocol/prepaid-charge.ts); until then, subtract the time this session has run.
    const secondsLeft = sub.seconds_remaining === null ? null : Math.max(0, sub.seconds_remaining - (since ? Math.floor((now - since) / 1000) : 0));
    await this.tracking.flush();
    const destinations = (await this.tracking.destinations(s.id, now)).slice(0, 10).map((d) => ({ destination: d.destination, lastSeen: toIso(d.lastSeen)!, flows: d.flows }));
    return { id: s.id, status: s.status, since: toIso(since), nas: s.nas, address: binding?.address ?? null, portFirst: binding?.port_first ?? null, portLast: binding?.port_last ?? null, ipv6: prefixes.map((p) => `${p.network}/${p.prefix_length}`), secondsLeft, destinations };
  }

  /** Pending first (oldest first: the merchant waiting longest), then the rest, newest first. */
  async purchases(subscriberId: string, limit = 50): Promise<{ pending: Purchase[]; history: Purchase[] }> {
    const rows = await this.store.db.selectFrom('authorizations').innerJoin('merchants', 'merchants.id', 'authorizations.merchant_id')
      .select(['authorizations.id', 'authorizations.status', 'authorizations.reason', 'authorizations.amount', 'authorizations.currency', 'authorizations.captured_amount', 'authorizations.refunded_amount', 'authorizations.settlement', 'authorizations.description', 'authorizations.created_at', 'authorizations.expires_at', 'merchants.name as merchant', 'merchants.id as merchant_id'])
      .where('authorizations.subscriber_id', '=', subscriberId).orderBy('authorizations.id', 'desc').limit(limit).execute();
    const ids = rows.map((r) => r.id);
    const events = ids.length === 0 ? [] : await this.store.db.selectFrom('authorization_events').select(['authorization_id', 'type', 'amount', 'at']).where('authorization_id', 'in', ids).where('type', 'in', ['capture', 'refund']).orderBy('at').execute();
    const all: Purchase[] = rows.map((r) => ({
      id: r.id, merchant: r.merchant, merchantId: r.merchant_id, status: r.status, reason: r.reason, amount: r.amount, currency: r.currency, capturedAmount: r.captured_amount, refundedAmount: r.refunded_amount,
      settlement: r.settlement, description: r.description, createdAt: toIso(r.created_at)!, expiresAt: toIso(r.expires_at),
      movements: events.filter((e) => e.authorization_id === r.id).map((e) => ({ type: e.type as 'capture' | 'refund', amount: e.amount ?? 0, at: toIso(e.at)! })),
    }));
    return { pending: all.filter((p) => p.status === 'pending').reverse(), history: all.filter((p) => p.status !== 'pending') };
  }

  /** The ids and statuses of pending purchases: what the live list changes on. */
  async pendingKey(subscriberId: string): Promise<string> {
    const rows = await this.store.db.selectFrom('authorizations').select('id').where('subscriber_id', '=', subscriberId).where('status', '=', 'pending').orderBy('id').execute();
    return rows.map((r) => r.id).join(',');
  }

  /** Refuses, as "not found", a purchase that is not this subscriber's. */
  async ownPurchase(subscriberId: string, authorizationId: string): Promise<void> {
    const row = await this.store.db.selectFrom('authorizations').select('id').where('id', '=', authorizationId).where('subscriber_id', '=', subscriberId).executeTakeFirst();
    if (!row) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No purchase ${authorizationId}.`);
  }

  statement(subscriberId: string, from: number, to: number): Promise<{ total: number; lines: StatementLine[] }> {
    return subscriberStatement(this.store, subscriberId, from, to);
  }

  /** Every certified merchant with this subscriber's secure switch for it. */
  async securePreferences(subscriberId: string): Promise<SecurePreference[]> {
    const merchants = await this.store.db.selectFrom('merchants').select(['id', 'name']).where('status', '=', 'certified').orderBy('name').execute();
    const prefs = await this.store.db.selectFrom('channel_preferences').select(['merchant_id', 'mode']).where('subscriber_id', '=', subscriberId).execute();
    return merchants.map((m) => ({ merchantId: m.id, merchant: m.name, mode: prefs.find((p) => p.merchant_id === m.id)?.mode ?? 'off' }));
  }

  async setSecure(subscriberId: string, merchantId: string, mode: 'once' | 'on' | 'off'): Promise<void> {
    const merchant = await this.store.db.selectFrom('merchants').select('id').where('id', '=', merchantId).where('status', '=', 'certified').executeTakeFirst();
    if (!merchant) throw new SidebandError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}.`);
    await this.requireChannel().setPreference(subscriberId, merchant.id, mode);
  }

  async exchanges(subscriberId: string): Promise<ExchangeSummary[]> {
    const rows = await this.store.db.selectFrom('channel_exchanges').innerJoin('merchants', 'merchants.id', 'channel_exchanges.merchant_id')
      .select(['channel_exchanges.id', 'channel_exchanges.authorization_id', 'channel_exchanges.status', 'channel_exchanges.cause', 'channel_exchanges.fallback', 'channel_exchanges.created_at', 'channel_exchanges.active_at', 'channel_exchanges.ended_at', 'merchants.name as merchant'])
      .where('channel_exchanges.subscriber_id', '=', subscriberId).orderBy('channel_exchanges.created_at', 'desc').limit(20).execute();
    const goods = this.channel()?.goods;
    return rows.map((r) => ({
      id: r.id, merchant: r.merchant, authorizationId: r.authorization_id, status: r.status, cause: r.cause, fallback: r.fallback,
      createdAt: toIso(r.created_at)!, activeAt: toIso(r.active_at), endedAt: toIso(r.ended_at), itemsReceived: goods?.get(r.id)?.length ?? 0,
      goods: (goods?.get(r.id) ?? []).map(receivedGoods),
    }));
  }

  /** Refuses, as "not found", an exchange that is not this subscriber's. */
  async ownExchange(subscriberId: string, exchangeId: string): Promise<ProviderChannel> {
    const row = await this.store.db.selectFrom('channel_exchanges').select('id').where('id', '=', exchangeId).where('subscriber_id', '=', subscriberId).executeTakeFirst();
    if (!row) throw new SidebandError('CHANNEL_EXCHANGE_NOT_FOUND', `No exchange ${exchangeId}.`);
    return this.requireChannel();
  }

  private requireChannel(): ProviderChannel {
    const c = this.channel();
    if (!c) throw new SidebandError('CHANNEL_UNAVAILABLE', 'This gateway runs no secure channel.');
    return c;
  }
}
