import { randomBytes } from 'node:crypto';
import type { Logger } from '../../observability/logger.ts';
import { ChannelEndpoint, createChannelIdentity, MerchantChannel, SipTelephony, type ChannelItem, type SidebandClient } from './merchant-sdk.ts';

export interface StoreChannelOptions {
  /** The exchange as a SIP URI, e.g. sip:127.0.0.1:5070. */
  registrar: string;
  /** The store's line at the exchange. */
  username: string;
  password: string;
  lineNumber: string;
  numbers: readonly string[];
  /** Where the store's SIP and the call's media listen: the separate network (loopback in development). */
  mediaAddress: string;
  /** Where the provider negotiates with the store, on the data network. */
  host: string;
  logger: Logger;
}

/** What the store knows of one purchase's delivery over the channel: never the card, never the goods once sent. */
export interface Delivery {
  exchangeId: string | null;
  status: 'delivering' | 'delivered' | 'failed';
  cause: string | null;
  /** Goods sent over the call. */
  items: number;
  /** The card reached the store over the call (and was dropped: the demo store has no acquirer of its own). */
  cardArrived: boolean;
}

/** The goods for a purchase: what was bought, or null when the store knows no such order. */
export type GoodsFor = (authorizationId: string) => { name: string } | null;

/**
 * The demo store's end of the secure channel, as a merchant runs it with the SDK: a line at
 * the exchange, a certificate, and MerchantChannel's negotiation endpoint. When the
 * subscriber switched "secure" on, the provider calls after approval with the card, and
 * the store sends the electronic goods (a ticket code) back over the same call: they go to
 * the subscriber through the provider, never over the store's web pages.
 */
export class StoreChannel {
  private constructor(
    private readonly channel: MerchantChannel,
    private readonly deliveries: Map<string, Delivery>,
    /** What the operator registers with `sideband merchant set-channel`. */
    readonly registration: { url: string; lineNumber: string; fingerprint: string },
  ) {}

  static async start(client: SidebandClient, o: StoreChannelOptions, goodsFor: GoodsFor): Promise<StoreChannel> {
    const identity = await createChannelIdentity('demo-shop');
    const telephony = await SipTelephony.start({ host: o.mediaAddress, registrar: o.registrar, username: o.username, password: o.password, lineNumber: o.lineNumber, numbers: o.numbers, logger: o.logger.child({ part: 'demo-store-sip' }) });
    const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: o.numbers, mediaAddress: o.mediaAddress });
    const deliveries = new Map<string, Delivery>();
    const delivery = (authorizationId: string): Delivery => {
      let d = deliveries.get(authorizationId);
      if (!d) {
        deliveries.set(authorizationId, (d = { exchangeId: null, status: 'delivering', cause: null, items: 0, cardArrived: false }));
        if (deliveries.size > 10_000) deliveries.delete(deliveries.keys().next().value!);
      }
      return d;
    };
    const channel = new MerchantChannel({
      client, endpoint, listen: { host: o.host, port: 0 },
      goodsCount: (authorizationId) => {
        const known = goodsFor(authorizationId) !== null;
        if (known) Object.assign(delivery(authorizationId), { status: 'delivering', cause: null });
        return known ? 1 : 0;
      },
      // The card is for a merchant's own acquirer; this store has none, so it keeps nothing of it.
      onCard: (_card, ctx) => void (delivery(ctx.authorizationId).cardArrived = true),
      goods: (authorizationId): ChannelItem[] => {
        const what = goodsFor(authorizationId);
        if (!what) return [];
        const code = randomBytes(9).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, '7').replace(/(.{4})(?=.)/g, '$1-');
        return [{ kind: 'goods', contentType: 'text/plain; charset=utf-8', data: Buffer.from(`${what.name}: ticket code ${code}`).toString('base64') }];
      },
      onOutcome: (outcome, ctx) => {
        Object.assign(delivery(ctx.authorizationId), { exchangeId: ctx.exchangeId, status: outcome.ok ? 'delivered' : 'failed', cause: outcome.ok ? null : outcome.cause, items: outcome.ok ? outcome.sent : 0 });
      },
    });
    let url: string;
    try {
      url = await channel.start();
    } catch (e) {
      await channel.stop();
      throw e;
    }
    return new StoreChannel(channel, deliveries, { url, lineNumber: o.lineNumber, fingerprint: identity.fingerprint });
  }

  delivery(authorizationId: string): Delivery | null {
    return this.deliveries.get(authorizationId) ?? null;
  }

  stop(): Promise<void> {
    return this.channel.stop();
  }
}
