import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.ts';
import { httpLimits } from '../../gateway/http-limits.ts';
import { TrustedProxies } from '../../gateway/trusted-proxies.ts';
import type { Logger } from '../../observability/logger.ts';
import { assertSameOriginForm, formField, parseForms, readCookie, securePages, setSessionCookie } from '../page-security.ts';
import { serveAssets } from '../static-assets.ts';
import { ShopperSessions, type ShopperSession } from './shopper-sessions.ts';
import { catalogue } from './catalogue.ts';
import { SidebandApiError, SidebandClient } from './merchant-sdk.ts';
import { StoreChannel, type StoreChannelOptions } from './store-channel.ts';
import { cataloguePage, orderPage, orderState, storeErrorPage, type Order } from './store-pages.ts';

export interface DemoStoreOptions {
  /** Where the store reaches the gateway's merchant API, e.g. http://127.0.0.1:7443. */
  merchantApi: string;
  /**
   * The origin the provider publishes that API at (merchantApi.publicOrigin), when set:
   * the gateway then verifies signatures against it, so the store signs for it while it
   * still connects to `merchantApi`, past the provider's proxy.
   */
  publicOrigin?: string | undefined;
  keyId: string;
  /** PEM of the demo merchant's Ed25519 key (data/demo-merchant-ed25519.pem). */
  privateKey: string;
  host: string;
  port: number;
  http: Config['http'];
  logger: Logger;
  /** The store's line at the exchange, for goods over the secure channel; without it the store runs without the channel. */
  channel?: Omit<StoreChannelOptions, 'host' | 'logger'>;
}

const COOKIE = 'sb_demo_store';
const MAX_ORDERS = 10_000;
/** The demo store is reached directly, never through a proxy of its own. */
const NO_PROXIES = new TrustedProxies([], 'none');
/**
 * The provider starts the secure channel just after approval when the subscriber switched
 * it on; the store cannot know whether it did, so a paid order's page keeps asking this long.
 */
const CHANNEL_GRACE_MS = 10_000;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (how a dual-stack socket reports an IPv4 peer). */
function loopback(address: string): boolean {
  const a = address.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\./.test(a);
}

/**
 * A small shop as a merchant would write it with the SDK: a catalogue, "Buy", and the
 * purchase's state. Like any merchant it names the customer to the provider by the
 * address and source port its connection came from (RFC 6302). A browser on the same
 * machine comes from loopback, which no subscriber holds; then, and only then, the store
 * asks the customer for the address their provider gave them (README, "Demo store").
 */
export class DemoStore {
  readonly app: FastifyInstance;
  private readonly client: SidebandClient;
  private readonly sessions = new ShopperSessions<{ orders: string[] }>(60 * 60_000, 10_000);
  private readonly orders = new Map<string, Order & { session: string }>();
  private readonly byAuthorization = new Map<string, string>();
  private storeChannel: StoreChannel | null = null;

  constructor(private readonly options: DemoStoreOptions) {
    this.client = new SidebandClient({ baseUrl: options.publicOrigin ?? options.merchantApi, connectUrl: options.merchantApi, keyId: options.keyId, privateKey: options.privateKey, maxRetries: 1 });
    this.app = Fastify({ loggerInstance: options.logger.child({ part: 'demo-store' }) as FastifyBaseLogger, ...httpLimits(options.http, 16 * 1024) });
    this.routes();
  }

  private session(request: FastifyRequest, reply: FastifyReply): ShopperSession<{ orders: string[] }> {
    const existing = this.sessions.get(readCookie(request, COOKIE));
    if (existing) return existing;
    const s = this.sessions.create({ orders: [] });
    setSessionCookie(reply, { name: COOKIE, path: '/', secure: request.protocol === 'https' }, s.id);
    return s;
  }

  private customer(request: FastifyRequest, given: string | undefined): { address: string | null; port: number | undefined; fromConnection: boolean } {
    const peer = (request.socket.remoteAddress ?? '').replace(/^::ffff:/i, '');
    if (!loopback(peer)) return { address: peer, port: request.socket.remotePort, fromConnection: true };
    const address = given?.trim();
    return { address: address && isIP(address) ? address : null, port: undefined, fromConnection: false };
  }

  private async refresh(order: Order): Promise<void> {
    if (order.authorizationId && (order.status === 'pending' || order.status === 'processing')) {
      const a = await this.client.authorizations.retrieve(order.authorizationId);
      order.status = a.status;
      order.reason = a.reason;
      if (a.status === 'approved' || a.status === 'captured') order.paidAt = Date.now();
    }
    order.delivery = order.authorizationId ? (this.storeChannel?.delivery(order.authorizationId) ?? null) : null;
  }

  /** Whether the order's page should keep asking: the subscriber has not answered, or goods may still come over the channel. */
  private waiting(order: Order): boolean {
    if (order.status === 'pending' || order.status === 'processing') return true;
    if (order.delivery) return order.delivery.status === 'delivering';
    return this.storeChannel !== null && order.paidAt !== null && Date.now() - order.paidAt < CHANNEL_GRACE_MS;
  }

  private routes(): void {
    const { app } = this;
    securePages(app);
    parseForms(app);
    serveAssets(app, '/assets', ['site.css', 'store.js']);
    const htmlReply = (reply: FastifyReply, body: string, status = 200) => reply.status(status).type('text/html; charset=utf-8').send(body);
    app.setErrorHandler((error, request, reply) => {
      const e = error as { statusCode?: number; status?: number; message: string; code?: string };
      const status = e.status ?? e.statusCode ?? 500;
      if (status >= 500) request.log.error({ err: error }, 'demo store request failed');
      return htmlReply(reply, storeErrorPage(status, status >= 500 && !(error instanceof SidebandApiError) ? 'The shop failed; try again.' : `${e.message}${e.code ? ` (${e.code})` : ''}`), status);
    });
    app.setNotFoundHandler((_request, reply) => htmlReply(reply, storeErrorPage(404, 'No such page.'), 404));

    app.get('/', async (request, reply) => {
      const s = this.session(request, reply);
      const c = this.customer(request, (request.query as { address?: string }).address);
      return htmlReply(reply, cataloguePage(catalogue, s.csrf, c));
    });

    app.post('/buy', async (request, reply) => {
      const s = this.session(request, reply);
      assertSameOriginForm(request, s.csrf, NO_PROXIES);
      const product = catalogue.find((p) => p.sku === formField(request, 'sku'));
      if (!product) return htmlReply(reply, storeErrorPage(400, 'No such product.'), 400);
      const c = this.customer(request, formField(request, 'address'));
      if (!c.address) return reply.redirect('/', 303);
      const id = `ord_${randomBytes(9).toString('base64url')}`;
      const order: Order & { session: string } = { id, product, authorizationId: null, status: 'new', reason: null, customer: c.address + (c.port ? ` port ${c.port}` : ''), paidAt: null, delivery: null, session: s.id };
      const a = await this.client.authorizations.create({
        customer: { address: c.address, ...(c.port ? { port: c.port } : {}), observedAt: new Date().toISOString() },
        amount: product.price, currency: product.currency, description: product.name, merchantReference: id,
      });
      Object.assign(order, { authorizationId: a.id, status: a.status, reason: a.reason, paidAt: a.status === 'approved' ? Date.now() : null });
      this.orders.set(id, order);
      this.byAuthorization.set(a.id, id);
      if (this.orders.size > MAX_ORDERS) {
        const oldest = this.orders.keys().next().value!;
        this.byAuthorization.delete(this.orders.get(oldest)!.authorizationId!);
        this.orders.delete(oldest);
      }
      return reply.redirect(`/orders/${id}`, 303);
    });

    const ownOrder = (request: FastifyRequest, reply: FastifyReply): (Order & { session: string }) | null => {
      const s = this.session(request, reply);
      const order = this.orders.get((request.params as { id: string }).id);
      return order && order.session === s.id ? order : null;
    };
    app.get('/orders/:id', async (request, reply) => {
      const order = ownOrder(request, reply);
      if (!order) return htmlReply(reply, storeErrorPage(404, 'No such order.'), 404);
      await this.refresh(order);
      return htmlReply(reply, orderPage(order, this.waiting(order)));
    });
    app.get('/orders/:id/state', async (request, reply) => {
      const order = ownOrder(request, reply);
      if (!order) return reply.status(404).send({ state: 'unknown', poll: false });
      await this.refresh(order);
      return { state: orderState(order), poll: this.waiting(order) };
    });
  }

  /** Starts the store and, when given a line, its end of the secure channel (whose registration `channelRegistration` then tells). */
  async listen(): Promise<string> {
    const { channel } = this.options;
    if (channel) {
      // The channel asks the merchant API at start (the provider's line and certificate). A
      // store that cannot still sells, without it.
      try {
        this.storeChannel = await StoreChannel.start(this.client, { ...channel, host: this.options.host, logger: this.options.logger }, (authorizationId) => {
          const order = this.orders.get(this.byAuthorization.get(authorizationId) ?? '');
          return order ? { name: order.product.name } : null;
        });
      } catch (e) {
        this.options.logger.warn({ err: e, part: 'demo-store' }, 'the demo store runs without the secure channel: it could not start its end');
      }
    }
    const address = await this.app.listen({ host: this.options.host, port: this.options.port });
    return new URL(address).host;
  }

  get channelRegistration(): StoreChannel['registration'] | null {
    return this.storeChannel?.registration ?? null;
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.storeChannel?.stop();
  }
}
