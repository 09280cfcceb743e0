import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SidebandClient } from '@sideband/merchant-sdk';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { SettlementPreference } from '../../src/store/schema.ts';
import type { Acquirer } from '../../src/certification/settlement/acquirer.ts';
import { startTestGateway, type TestGateway } from './test-gateway.ts';
import type { TestDialect } from './databases.ts';

/** Everything the merchant's side received: each response body and each webhook delivery. */
export interface Received {
  responses: string[];
  /** Each API call the client made and its answer, for checking against the OpenAPI document. */
  calls: Array<{ method: string; path: string; status: number; body: string }>;
  webhooks: Array<{ headers: Record<string, string | string[] | undefined>; body: string }>;
}

/** A merchant's webhook endpoint on loopback that records every delivery. */
export async function webhookReceiver(received: Received, status = () => 200): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.webhooks.push({ headers: req.headers, body });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, server };
}

export interface MerchantSetup {
  t: TestGateway;
  merchantId: string;
  keyId: string;
  privateKey: KeyObject;
  client: SidebandClient;
  received: Received;
  hooks: Server;
  nasId: string;
  poolId: string;
  dispose(): Promise<void>;
}

/** A gateway with one certified merchant (Ed25519 key, network, webhook) and an SDK client that records all it receives. */
export async function merchantSetup(dialect: TestDialect, name: string, options: { settlement?: SettlementPreference; config?: Partial<ConfigInput>; acquirer?: Acquirer } = {}): Promise<MerchantSetup> {
  const t = await startTestGateway(dialect, name, options.config ?? {}, options.acquirer ? { acquirer: options.acquirer } : {});
  const ctx = t.gateway.context;
  const received: Received = { responses: [], calls: [], webhooks: [] };
  const hooks = await webhookReceiver(received);
  const pool = await ctx.network.addPool({ name: 'access', cidr: '192.0.2.0/24' });
  const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'merchant-test-secret', pool: 'access' });
  await t.gateway.authentication.nas.load();
  const merchant = await ctx.merchants.add({ name: `Shop ${name}`, settlement: options.settlement ?? 'card', webhookUrl: hooks.url });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = `${name}-key`;
  await ctx.merchants.addKey(merchant.id, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId });
  await ctx.merchants.addNetwork(merchant.id, '203.0.113.0/24');
  await ctx.merchants.certify(merchant.id);
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const text = await res.text();
    received.responses.push(text);
    received.calls.push({ method: init?.method ?? 'GET', path: new URL(input instanceof Request ? input.url : input).pathname, status: res.status, body: text });
    return new Response(text, { status: res.status, headers: res.headers });
  };
  const client = new SidebandClient({ baseUrl: `http://${t.gateway.listen.merchantHttp}`, keyId, privateKey, fetch: recordingFetch, maxRetries: 0,
    // Tests wait on answers, not clocks: a loaded CI machine may take long over 200 at once.
    timeoutMs: 120_000 });
  return {
    t, merchantId: merchant.id, keyId, privateKey, client, received, hooks: hooks.server, nasId: nas.id, poolId: pool.id,
    async dispose() {
      await new Promise<void>((r) => hooks.server.close(() => r()));
      await t.dispose();
    },
  };
}

/** Opens a session for a new subscriber and shows it visiting the merchant; returns the customer's address. */
export async function shopper(m: MerchantSetup, login: string, subscriber: { spendingLimit?: number; autoApproveLimit?: number | null; visit?: boolean; releaseToMerchant?: boolean; card?: { number: string; expiry: string; creditLimit?: number } } = {}): Promise<{ address: string; subscriberId: string; sessionId: string }> {
  const ctx = m.t.gateway.context;
  const sub = await ctx.subscribers.add({ login, password: `${login}-password`, spendingLimit: subscriber.spendingLimit ?? 100_000, autoApproveLimit: subscriber.autoApproveLimit === undefined ? 50_000 : subscriber.autoApproveLimit });
  // The consent that lets a merchant receive the card (billing details, or over the secure channel).
  if (subscriber.releaseToMerchant) await ctx.subscribers.setLimit(sub.id, { releaseToMerchant: true });
  if (subscriber.card) await ctx.subscribers.addCard(sub.id, { number: subscriber.card.number, expiry: subscriber.card.expiry, holderName: `${login} Example`, creditLimit: subscriber.card.creditLimit ?? null, licenceNumber: `DL-${login}-TEST` });
  const authorized = await m.t.gateway.authentication.sessions.authorize({ subscriberId: sub.id, login, nasId: m.nasId, poolId: m.poolId, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: Date.now() - 60_000 });
  const address = authorized.unit!.address;
  if (subscriber.visit !== false) m.t.gateway.tracking.observe({ exporter: 'test', sourceAddress: address, destinationAddress: '203.0.113.80', at: Date.now() - 1000 });
  return { address, subscriberId: sub.id, sessionId: authorized.sessionId };
}
