// A merchant's plain-JavaScript (CommonJS) project, as it would be written outside
// Sideband's repository: the same purchase and exchange as purchase.ts, with require().
'use strict';
const { createHash } = require('node:crypto');
const { createInterface } = require('node:readline');
const { SidebandApiError, SidebandClient } = require('@sideband/merchant-sdk');
const { ChannelEndpoint, createChannelIdentity, MerchantChannel, SipTelephony } = require('@sideband/merchant-sdk/channel');

const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main() {
  const client = new SidebandClient({ baseUrl: process.env.SIDEBAND_URL, keyId: process.env.SIDEBAND_KEY_ID, privateKey: process.env.SIDEBAND_PRIVATE_KEY });
  const authorization = await client.authorizations.create({ customer: { address: process.env.CUSTOMER_ADDRESS }, amount: 1250, currency: 'EUR', description: 'A book', capture: 'manual' });
  const capture = await client.authorizations.capture(authorization.id);
  const refund = await client.authorizations.refund(authorization.id, { amount: 1250 });
  const refunded = await client.authorizations.retrieve(authorization.id);
  let missing = '';
  try {
    await client.authorizations.retrieve('auth_none');
  } catch (e) {
    if (e instanceof SidebandApiError) missing = e.code;
  }
  say({ step: 'purchase', authorized: authorization.status, captured: capture.amount, refunded: refund.amount, finally: refunded.status, missing });

  if (!process.env.CHANNEL_LINE) return;
  const line = JSON.parse(process.env.CHANNEL_LINE);
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const identity = await createChannelIdentity('consumer.example');
  const telephony = await SipTelephony.start({ host: '127.0.0.1', registrar: line.registrar, username: line.username, password: line.password, lineNumber: line.lineNumber, numbers: line.numbers, logger: quiet });
  const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: line.numbers, mediaAddress: '127.0.0.1', reservationTtlMs: 5000, ringTimeoutMs: 5000, exchangeTimeoutMs: 5000 });
  const cards = [];
  const channel = new MerchantChannel({
    client, endpoint, listen: { host: '127.0.0.1', port: 0 },
    onCard: (card) => { cards.push(card); },
    goods: () => [{ kind: 'goods', contentType: 'text/plain', data: Buffer.from('goods').toString('base64') }],
  });
  const url = await channel.start();
  say({ step: 'channel', url, fingerprint: identity.fingerprint });
  const input = createInterface({ input: process.stdin });
  const address = await new Promise((resolve) => input.once('line', (l) => resolve(l.trim())));
  input.close();
  const paid = await client.authorizations.create({ customer: { address }, amount: 700, currency: 'EUR' });
  const { outcome } = await channel.requestCard(paid.id, 1);
  const result = await outcome;
  // Only a digest of the card leaves this process: never its number.
  const digest = cards[0] ? createHash('sha256').update(cards[0].number).digest('hex') : null;
  say({ step: 'exchange', ok: result.ok, cards: cards.length, cardDigest: digest });
  await channel.stop();
  await channel.stop();
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
