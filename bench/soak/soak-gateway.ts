// The gateway side of the soak: one whole gateway in a process of its own (throwaway
// SQLite database under $TMPDIR, every listener on an ephemeral loopback port, warnings
// and errors logged to $SIDEBAND_SOAK_LOG), provisioned for the four kinds of load:
//   - a NAS at 127.0.0.2 with a /16 pool and subscribers who log in over RADIUS;
//   - 127.0.0.1 registered as a flow exporter;
//   - a certified merchant (Ed25519 key, network 203.0.113.0/24) and shoppers, each with
//     an open session, a visit to the merchant and a card, for signed authorizations;
//   - the built-in SIP exchange with the merchant's line, for secure-channel exchanges.
// It prints one JSON line (Ready), then reads one line from stdin: the merchant channel's
// URL and fingerprint, which it registers before answering "registered". It serves until
// SIGTERM or until its stdin closes, so that it never outlives a driver that died.
//   node -C sideband-source --import tsx bench/soak/soak-gateway.ts SUBSCRIBERS SHOPPERS
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/load-config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { PROVIDER, SHOP } from '../../test/support/channel-world.ts';
import { testScryptCost } from '../../test/support/contexts.ts';
import { throwawayDatabase } from '../../test/support/databases.ts';
import { futureExpiry, testCardNumber } from '../../test/support/test-cards.ts';

/** What the driver needs to load the gateway, as the gateway prints it. */
export interface Ready {
  readonly pid: number;
  readonly listen: Readonly<Record<string, string>>;
  readonly nas: { readonly address: string; readonly secret: string };
  readonly subscribers: readonly { readonly login: string; readonly password: string }[];
  readonly merchant: { readonly keyId: string; readonly privateKeyPem: string };
  readonly shoppers: readonly string[];
  readonly provisionSeconds: number;
}

export const NAS_ADDRESS = '127.0.0.2';
const NAS_SECRET = 'soak-nas-shared-secret';

const [subscriberCount, shopperCount] = process.argv.slice(2).map(Number);
if (!Number.isInteger(subscriberCount) || !Number.isInteger(shopperCount) || subscriberCount! < 1 || shopperCount! < 1) {
  console.error('usage: soak-gateway.ts SUBSCRIBERS SHOPPERS');
  process.exit(2);
}

const began = process.hrtime.bigint();
const database = await throwawayDatabase('sqlite');
const log = process.env.SIDEBAND_SOAK_LOG;
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: database.dataDir,
    demo: false,
    listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, portalHttp: 0, demoStoreHttp: 0 },
    channel: {
      lineNumber: PROVIDER.lineNumber,
      numbers: PROVIDER.numbers,
      exchange: { port: 0, lines: [{ username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] }] },
    },
  },
});
const gateway = new Gateway({ config, logger: createLogger({ level: log ? 'warn' : 'silent', name: 'soak', ...(log ? { destination: createWriteStream(log, { flags: 'a' }) } : {}) }), scryptCost: testScryptCost });

let stopping: Promise<void> | null = null;
const stop = (): Promise<void> =>
  (stopping ??= (async () => {
    try {
      await gateway.stop();
    } finally {
      await database.drop();
      process.exit(0);
    }
  })());
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

try {
  const listen = await gateway.start();
  const ctx = gateway.context;

  // RFC 6598 shared address space and RFC 5737 documentation ranges: data only, never contacted.
  await ctx.network.addPool({ name: 'soak', cidr: '100.64.0.0/16' });
  await ctx.network.addNas({ name: 'soak-bng', address: NAS_ADDRESS, secret: NAS_SECRET, pool: 'soak' });
  const shopPool = await ctx.network.addPool({ name: 'shoppers', cidr: '192.0.2.0/24' });
  const shopNas = await ctx.network.addNas({ name: 'shop-bng', address: '127.0.0.3', secret: 'soak-unused-secret', pool: 'shoppers' });
  await gateway.authentication.nas.load();
  await ctx.exporters.add({ name: 'soak', address: '127.0.0.1/32' });
  await ctx.exporters.load();

  const subscribers = [];
  for (let i = 0; i < subscriberCount!; i++) {
    const login = `soak${i}`;
    const password = `soak-password-${i}`;
    await ctx.subscribers.add({ login, password });
    subscribers.push({ login, password });
  }

  const merchant = await ctx.merchants.add({ name: 'Soak Shop', settlement: 'card' });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = 'soak-key';
  await ctx.merchants.addKey(merchant.id, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId });
  await ctx.merchants.addNetwork(merchant.id, '203.0.113.0/24');
  await ctx.merchants.certify(merchant.id);

  // Shoppers: open sessions bound since a minute ago, a visit to the merchant, one card each.
  const shoppers = [];
  const now = Date.now();
  for (let i = 0; i < shopperCount!; i++) {
    const login = `shopper${i}`;
    const sub = await ctx.subscribers.add({ login, password: `${login}-password`, spendingLimit: 1_000_000_000_000, autoApproveLimit: 1_000_000_000_000 });
    await ctx.subscribers.addCard(sub.id, { number: testCardNumber(i % 64), expiry: futureExpiry(), holderName: `${login} Example`, creditLimit: null, licenceNumber: `DL-${login}-SOAK` });
    // The merchant's load asks for the card over the secure channel: the shopper consents to its release.
    await ctx.subscribers.setLimit(sub.id, { releaseToMerchant: true });
    const authorized = await gateway.authentication.sessions.authorize({ subscriberId: sub.id, login, nasId: shopNas.id, poolId: shopPool.id, nasPort: i, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: now - 60_000 });
    const address = authorized.unit!.address;
    gateway.tracking.observe({ exporter: 'soak', sourceAddress: address, destinationAddress: '203.0.113.80', at: now - 1000 });
    shoppers.push(address);
  }

  const ready: Ready = {
    pid: process.pid,
    listen: listen as unknown as Record<string, string>,
    nas: { address: NAS_ADDRESS, secret: NAS_SECRET },
    subscribers,
    merchant: { keyId, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    shoppers,
    provisionSeconds: Number(process.hrtime.bigint() - began) / 1e9,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  const lines = createInterface({ input: process.stdin });
  lines.once('line', (line) => {
    const channel = JSON.parse(line) as { url: string; fingerprint: string };
    void ctx.merchants.setChannel(merchant.id, { url: channel.url, lineNumber: SHOP.lineNumber, fingerprint: channel.fingerprint }).then(
      () => process.stdout.write('registered\n'),
      (e: unknown) => {
        console.error(e);
        void stop();
      },
    );
  });
  lines.once('close', () => void stop());
} catch (e) {
  console.error(e);
  await stop();
}
