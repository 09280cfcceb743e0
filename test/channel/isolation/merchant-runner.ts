// Runs in the merchant's namespace: the merchant's web stack talks to the gateway over the
// data network (SDK), its channel endpoint (SIP and TLS media) sits on the telephone one.
// Env: ISOLATION_MERCHANT_API, ISOLATION_KEY_ID, ISOLATION_PRIVATE_KEY, ISOLATION_DATA_ADDRESS,
// ISOLATION_TELEPHONE_ADDRESS, ISOLATION_REGISTRAR, ISOLATION_SHOP_LINE (JSON).
import { createHash } from 'node:crypto';
import { createChannelIdentity, ChannelEndpoint, SipTelephony } from '@sideband/channel';
import { MerchantChannel } from '@sideband/merchant-sdk/channel';
import { SidebandClient } from '@sideband/merchant-sdk';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { runMain, serveCommands } from './runner-commands.ts';

runMain(async () => {
  const env = process.env;
  const shop = JSON.parse(env.ISOLATION_SHOP_LINE!) as { username: string; password: string; lineNumber: string; numbers: string[] };
  const client = new SidebandClient({ baseUrl: `http://${env.ISOLATION_MERCHANT_API!}`, keyId: env.ISOLATION_KEY_ID!, privateKey: env.ISOLATION_PRIVATE_KEY!, maxRetries: 0, timeoutMs: 5000 });
  const identity = await createChannelIdentity('shop.example');
  const telephony = await SipTelephony.start({ host: env.ISOLATION_TELEPHONE_ADDRESS!, registrar: env.ISOLATION_REGISTRAR!, username: shop.username, password: shop.password, lineNumber: shop.lineNumber, numbers: shop.numbers, logger: createTestLogger('isolation-shop-sip') });
  const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: shop.numbers, mediaAddress: env.ISOLATION_TELEPHONE_ADDRESS!, reservationTtlMs: 10_000, ringTimeoutMs: 5000, exchangeTimeoutMs: 5000 });
  // The acquirer hook. It keeps only a digest: this process's output is scanned for card numbers.
  const acquired: string[] = [];
  const channel = new MerchantChannel({
    client, endpoint, listen: { host: env.ISOLATION_DATA_ADDRESS!, port: 0 },
    onCard: (card) => void acquired.push(createHash('sha256').update(card.number).digest('hex')),
    goods: () => [{ kind: 'goods', contentType: 'application/epub+zip', data: Buffer.from('an e-book').toString('base64') }],
  });
  const url = await channel.start();
  serveCommands({ channelUrl: url, lineNumber: shop.lineNumber, fingerprint: identity.fingerprint }, {
    /** A purchase: authorize, get the card over the channel (fig. 4) while goods go back, then capture. */
    buy: async ({ customerAddress }) => {
      const authorization = await client.authorizations.create({ customer: { address: String(customerAddress) }, amount: 700, currency: 'EUR', capture: 'manual' });
      if (authorization.status !== 'approved') return { authorizationStatus: authorization.status, reason: authorization.reason };
      const { exchangeId, outcome } = await channel.requestCard(authorization.id, 1);
      const result = await outcome;
      const capture = result.ok ? await client.authorizations.capture(authorization.id) : null;
      // Never the outcome itself: its received items hold the card.
      return {
        authorizationId: authorization.id,
        authorizationStatus: authorization.status,
        exchangeId,
        ok: result.ok,
        cause: result.ok ? null : result.cause,
        receivedKinds: result.received.map((item) => item.kind),
        sent: result.sent,
        acquired: [...acquired],
        captured: capture?.amount ?? null,
      };
    },
  }, () => channel.stop());
});
