import assert from 'node:assert/strict';
import { createChannelIdentity, type ChannelIdentity, ChannelEndpoint, SipTelephony } from '@sideband/channel';
import { MerchantChannel, type ChannelCard } from '@sideband/merchant-sdk/channel';
import { createTestLogger } from '../../src/observability/logger.ts';
import type { RunningKamailio } from './kamailio.ts';
import type { TestDialect } from './databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from './merchant-harness.ts';
import { futureExpiry, testCardNumber } from './test-cards.ts';

/**
 * A gateway running the provider's end of the secure channel and a merchant running the
 * SDK's MerchantChannel, registered with each other, calling through the built-in exchange
 * or through a Kamailio the caller started. Used by the channel tests and bench/channel.
 */
export const SHOP = { username: 'shop', password: 'shop-line-password', lineNumber: '+15550199000', numbers: ['+15550199001', '+15550199002'] };
export const EAVESDROPPER = { username: 'eve', password: 'eve-line-password', numbers: ['+15550166000'] };
export const PROVIDER = { username: 'provider', password: 'provider-line-password', lineNumber: '+15550100000', numbers: ['+15550100001', '+15550100002'] };

export interface World {
  m: MerchantSetup;
  registrar: string;
  identity: ChannelIdentity;
  telephony: SipTelephony;
  endpoint: ChannelEndpoint;
  channel: MerchantChannel;
  cards: ChannelCard[];
  /** process.hrtime.bigint() when each card reached the acquirer hook. */
  cardTimes: bigint[];
  /** The same, by the exchange that carried the card. */
  cardAt: Map<string, bigint>;
  pan: string;
  authorizationId: () => Promise<string>;
  dispose(): Promise<void>;
}

/**
 * A gateway on `dialect` with one certified merchant, whose secure channel calls through
 * `kamailio` or, when undefined, through its built-in exchange (which then also carries the
 * SHOP and EAVESDROPPER lines); `registrar` is where the merchant's line registers.
 */
export async function channelGateway(name: string, kamailio?: RunningKamailio, dialect: TestDialect = 'sqlite'): Promise<{ m: MerchantSetup; registrar: string }> {
  const lines = [{ username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] }, { username: EAVESDROPPER.username, password: EAVESDROPPER.password, numbers: EAVESDROPPER.numbers }];
  const m = await merchantSetup(dialect, name, {
    config: { channel: { lineNumber: PROVIDER.lineNumber, numbers: PROVIDER.numbers, reservationSeconds: 3, exchange: kamailio ? { builtIn: false, host: kamailio.host, port: kamailio.port, username: PROVIDER.username, password: PROVIDER.password } : { lines } } },
  });
  return { m, registrar: kamailio ? kamailio.uri : `sip:${m.t.gateway.listen.exchangeUdp}` };
}

/** A shopper with a card in the vault, and an approved authorization of theirs at the merchant: what an exchange carries. */
export async function channelAuthorization(m: MerchantSetup, login: string, pan: string): Promise<string> {
  // The merchant asks for the card (Fig. 4): the subscriber has agreed to release it to merchants.
  const { address } = await shopper(m, login, { card: { number: pan, expiry: futureExpiry() }, releaseToMerchant: true });
  const a = await m.client.authorizations.create({ customer: { address }, amount: 700, currency: 'EUR' });
  assert.equal(a.status, 'approved');
  return a.id;
}

/** A gateway on `dialect` whose secure channel uses `exchange` (the built-in one when undefined), and a merchant's SDK endpoint. */
export async function world(name: string, kamailio?: RunningKamailio, dialect: TestDialect = 'sqlite'): Promise<World> {
  const { m, registrar } = await channelGateway(name, kamailio, dialect);
  const identity = await createChannelIdentity('shop.example');
  const telephony = await SipTelephony.start({ host: '127.0.0.1', registrar, username: SHOP.username, password: SHOP.password, lineNumber: SHOP.lineNumber, numbers: SHOP.numbers, logger: createTestLogger(`${name}-shop-sip`) });
  const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: SHOP.numbers, mediaAddress: '127.0.0.1', reservationTtlMs: 3000, ringTimeoutMs: 3000, exchangeTimeoutMs: 3000 });
  const cards: ChannelCard[] = [];
  const cardTimes: bigint[] = [];
  const cardAt = new Map<string, bigint>();
  const channel = new MerchantChannel({
    client: m.client, endpoint, listen: { host: '127.0.0.1', port: 0 },
    onCard: (card, { exchangeId }) => {
      const at = process.hrtime.bigint();
      cardTimes.push(at);
      cardAt.set(exchangeId, at);
      cards.push(card);
    },
    goods: () => [{ kind: 'goods', contentType: 'application/epub+zip', data: Buffer.from('an e-book').toString('base64') }],
  });
  const url = await channel.start();
  await m.t.gateway.context.merchants.setChannel(m.merchantId, { url, lineNumber: SHOP.lineNumber, fingerprint: identity.fingerprint });
  const pan = testCardNumber(50);
  let n = 0;
  return {
    m, registrar, identity, telephony, endpoint, channel, cards, cardTimes, cardAt, pan,
    authorizationId: () => channelAuthorization(m, `${name}-buyer-${n++}`, pan),
    async dispose() {
      await channel.stop();
      await m.dispose();
    },
  };
}

