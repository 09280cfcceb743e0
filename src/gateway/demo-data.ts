import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from './context.ts';

export interface DemoCredentials {
  subscriber: { login: string; password: string };
  nas: { name: string; secret: string };
  merchant: {
    id: string;
    keyId: string;
    privateKeyPath: string;
    /**
     * The demo store's line at the built-in exchange, for its end of the secure channel
     * (absent in demo.json files written before it existed: then the store runs without it).
     */
    channel?: DemoChannelLine;
  };
  operator: { token: string };
}

export interface DemoChannelLine {
  username: string;
  password: string;
  lineNumber: string;
  numbers: string[];
}

/**
 * Stripe's public Visa test number: a documented test card, never a real account. It is
 * the one number the demo data puts in the vault.
 */
export const DEMO_TEST_CARD = '4242424242424242';

/** Seeds a fresh store with one of everything a newcomer needs to try the gateway. */

/**
 * A random secret for the demo data, typed on command lines by the README and the
 * quickstart (`radclient … auth "$S"`): base64url, but never starting with '-', which a
 * program would read as an option (one secret in 64 did).
 */
function demoSecret(bytes: number): string {
  const text = randomBytes(bytes).toString('base64url');
  return text.startsWith('-') ? `x${text.slice(1)}` : text;
}
export async function seedDemoData(ctx: Context): Promise<DemoCredentials> {
  const password = demoSecret(9);
  const secret = demoSecret(18);
  await ctx.network.addPool({ name: 'demo-pool', cidr: '192.0.2.0/24' });
  await ctx.network.addNas({ name: 'demo-nas', address: '127.0.0.0/8', secret, pool: 'demo-pool' });
  await ctx.exporters.add({ name: 'demo-exporter', address: '127.0.0.0/8' });
  const sub = await ctx.subscribers.add({ login: 'demo', password, spendingLimit: 50_000, currency: 'EUR', seconds: 36_000, autoApproveLimit: 5_000 });
  const year = (new Date().getUTCFullYear() + 3) % 100;
  await ctx.subscribers.addCard(sub.id, { number: DEMO_TEST_CARD, expiry: `12/${String(year).padStart(2, '0')}`, holderName: 'Demo Subscriber', creditLimit: 200_000, creditRating: 'A' });
  const merchant = await ctx.merchants.add({ name: 'Demo Shop', settlement: 'card' });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = join(ctx.config.dataDir, 'demo-merchant-ed25519.pem');
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const key = await ctx.merchants.addKey(merchant.id, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'sig', keyId: 'demo-shop-1' });
  await ctx.merchants.addNetwork(merchant.id, '203.0.113.0/24');
  await ctx.merchants.certify(merchant.id);
  const { token } = await ctx.tokens.issue('demo-operator');
  // Numbers from the 555-01xx fiction range, beside the provider's default +1555010000x.
  const channel: DemoChannelLine = { username: 'demo-shop', password: demoSecret(18), lineNumber: '+15550177000', numbers: ['+15550177001', '+15550177002'] };
  return {
    subscriber: { login: 'demo', password },
    nas: { name: 'demo-nas', secret },
    merchant: { id: merchant.id, keyId: key.keyId, privateKeyPath, channel },
    operator: { token },
  };
}
