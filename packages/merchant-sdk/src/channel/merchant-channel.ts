import { randomBytes, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import type { SidebandClient } from '../client.ts';
import { verifyRequestSignature } from '@sideband/http-signatures';
import type { ChannelEndpoint, ChannelOutcome, Peer, ChannelItem } from '@sideband/channel';

/** A card as the merchant receives it over the call, for its own acquirer. */
export interface ChannelCard {
  number: string;
  expiry: string;
  holderName: string;
}

export interface MerchantChannelOptions {
  client: SidebandClient;
  endpoint: ChannelEndpoint;
  /** Where the provider reaches this endpoint on the data network (negotiation only). */
  listen: { host: string; port: number };
  /** The card arrived over the call: hand it to your acquirer. Its plaintext never reaches your web stack. */
  onCard: (card: ChannelCard, ctx: { exchangeId: string; authorizationId: string }) => Promise<void> | void;
  /** Before delivering goods, check the card with your payment network; false refuses delivery. */
  verifyCard?: (card: ChannelCard) => Promise<boolean> | boolean;
  /** The electronic goods to deliver for an authorization, sent after the card. */
  goods?: (authorizationId: string) => Promise<ChannelItem[]> | ChannelItem[];
  /**
   * How many goods `goods` will deliver for an authorization. When the provider starts an
   * exchange on its own (the subscriber switched "secure" on) it does not know what was
   * bought: it offers to take up to `merchantItemsUpTo` items, and this end answers with
   * its count. Without this hook the exchange carries the card only.
   */
  goodsCount?: (authorizationId: string) => Promise<number> | number;
  /** Each exchange's outcome, once the call has ended (e.g. to tell the customer the goods went over the channel). */
  onOutcome?: (outcome: ChannelOutcome, ctx: { exchangeId: string; authorizationId: string }) => void;
}

/**
 * The merchant's (terminating) end of the secure channel, run by the merchant beside its
 * web stack: a small HTTP server where the provider negotiates (its requests are signed
 * with the provider's key, checked against GET /v1/webhook-keys), a number pool, and the
 * call. Cards go to `onCard`; goods go back over the same call.
 *
 * @example
 * const channel = new MerchantChannel({ client, endpoint, listen: { host: '198.51.100.20', port: 7900 },
 *   onCard: (card) => myAcquirer.charge(card), goods: async (id) => [{ kind: 'goods', data: ebook }] });
 * await channel.start();
 */
export class MerchantChannel {
  private server: Server | null = null;
  private keys: Array<JsonWebKey & { kid?: string }> = [];
  private provider: Peer | null = null;
  readonly outcomes = new Map<string, Promise<ChannelOutcome>>();
  /** Nonces of the provider's signatures seen within their validity, so a replayed request is refused. */
  private nonces = new Map<string, number>();

  constructor(private readonly o: MerchantChannelOptions) {}

  async start(): Promise<string> {
    const caps = await this.o.client.channel.capabilities();
    this.provider = { party: 'provider', lineNumber: caps.lineNumber, fingerprint: caps.fingerprint };
    this.keys = (await this.o.client.webhookKeys()).keys;
    this.server = createServer((req, res) => {
      this.handle(req).then(
        ({ status, body }) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); },
        () => { res.writeHead(500, { 'content-type': 'application/json' }); res.end('{"error":{"code":"INTERNAL"}}'); },
      );
    });
    await new Promise<void>((r) => this.server!.listen(this.o.listen.port, this.o.listen.host, () => r()));
    const a = this.server.address() as AddressInfo;
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/`;
  }

  /** The plan for an exchange in which the provider sends the card and this end may send goods. */
  private plan(exchangeId: string, authorizationId: string, goodsCount: number) {
    let card: ChannelCard | null = null;
    return {
      exchangeId,
      peer: this.provider!,
      expectIncoming: 1,
      outgoing: async () => (goodsCount > 0 && this.o.goods ? (await this.o.goods(authorizationId)).slice(0, goodsCount) : []),
      onItem: async (item: ChannelItem) => {
        if (item.kind !== 'card') return;
        // V8's JSON error quotes the text it choked on: never let that be a card number.
        try {
          card = JSON.parse(item.data) as ChannelCard;
        } catch {
          throw new Error('the card item is not valid JSON');
        }
        await this.o.onCard(card, { exchangeId, authorizationId });
      },
      beforeSending: async () => (goodsCount === 0 ? true : card !== null && (this.o.verifyCard ? await this.o.verifyCard(card) : true)),
    };
  }

  /**
   * Fig. 4: this merchant needs the card for an authorization. The provider sends first,
   * so the provider calls: this end reserves a number and gives it with a token.
   */
  async requestCard(authorizationId: string, goodsCount = 0): Promise<{ exchangeId: string; outcome: Promise<ChannelOutcome> }> {
    const exchangeId = `exc_${randomBytes(12).toString('base64url')}`;
    const reserved = this.o.endpoint.reserve(this.plan(exchangeId, authorizationId, goodsCount));
    if (!reserved) throw new Error('channel number pool exhausted');
    this.report(reserved.outcome, exchangeId, authorizationId);
    try {
      await this.o.client.channel.createExchange({ exchangeId, authorizationId, firstSender: 'provider', items: { provider: 1, merchant: goodsCount }, number: reserved.number, token: reserved.token });
    } catch (e) {
      this.o.endpoint.pool.release(reserved.number);
      throw e;
    }
    this.outcomes.set(exchangeId, reserved.outcome);
    return { exchangeId, outcome: reserved.outcome };
  }

  private report(outcome: Promise<ChannelOutcome>, exchangeId: string, authorizationId: string): void {
    const hook = this.o.onOutcome;
    if (hook) void outcome.then((o) => hook(o, { exchangeId, authorizationId }), () => undefined);
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 16 * 1024) throw new Error('body too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /** Fig. 5: the provider asks; requests must carry the provider's signature. */
  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const raw = await this.body(req);
    const url = `http://${req.headers.host}${req.url}`;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v as string)]));
    const verified = await verifyRequestSignature({ method: req.method ?? 'GET', url, headers, body: raw }, {
      resolveKey: (kid) => {
        const jwk = this.keys.find((k) => k.kid === kid);
        return jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : null;
      },
    });
    if (!verified.ok) return { status: 401, body: { error: { code: 'SIGNATURE_INVALID', message: verified.reason } } };
    const now = Date.now();
    for (const [n, until] of this.nonces) if (until < now) this.nonces.delete(n);
    if (!verified.nonce || this.nonces.has(verified.nonce)) return { status: 401, body: { error: { code: 'SIGNATURE_NONCE_REUSED', message: 'nonce missing or already used' } } };
    this.nonces.set(verified.nonce, (verified.expires ?? Math.floor(now / 1000) + 300) * 1000 + 60_000);
    const path = new URL(url).pathname;
    if (req.method === 'POST' && path === '/channel/exchanges') {
      const b = JSON.parse(raw.toString('utf8') || '{}') as { exchangeId?: string; authorizationId?: string; firstSender?: string; items?: { provider: number; merchant: number }; merchantItemsUpTo?: number; number?: string };
      if (typeof b.exchangeId !== 'string' || typeof b.authorizationId !== 'string' || !b.items) return { status: 400, body: { error: { code: 'FIELD_INVALID', message: 'exchangeId, authorizationId and items are required' } } };
      // The direction rule: the provider sends the card first, so it calls and this end supplies the number.
      if (b.firstSender !== 'provider' || b.number !== undefined) return { status: 400, body: { error: { code: 'CHANNEL_DIRECTION_RULE', message: 'the party that sends first calls; the number comes from the callee' } } };
      // The provider may leave the count of goods to this end, up to a bound; the answer names it.
      let merchantItems = b.items.merchant;
      if (Number.isInteger(b.merchantItemsUpTo) && this.o.goodsCount) {
        const count = await this.o.goodsCount(b.authorizationId);
        if (Number.isInteger(count) && count >= 0) merchantItems = Math.min(b.merchantItemsUpTo!, Math.max(merchantItems, count));
      }
      const reserved = this.o.endpoint.reserve(this.plan(b.exchangeId, b.authorizationId, merchantItems));
      if (!reserved) return { status: 503, body: { error: { code: 'CHANNEL_POOL_EXHAUSTED', message: 'no free number' } } };
      this.outcomes.set(b.exchangeId, reserved.outcome);
      this.report(reserved.outcome, b.exchangeId, b.authorizationId);
      return { status: 201, body: { supported: true, number: reserved.number, token: reserved.token, ttlSeconds: Math.floor(reserved.ttlMs / 1000), items: { provider: b.items.provider, merchant: merchantItems } } };
    }
    if (req.method === 'POST' && /^\/channel\/exchanges\/[^/]+\/ack$/.test(path)) return { status: 200, body: { acknowledged: true } };
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: `${req.method} ${path}` } } };
  }

  private stopping: Promise<void> | null = null;

  /** Stops negotiating and closes the endpoint (its calls and telephony). Idempotent. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      await this.o.endpoint.close();
    })());
  }
}
