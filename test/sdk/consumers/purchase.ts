// A merchant's TypeScript project, as it would be written outside Sideband's repository:
// a purchase (authorize, capture, refund) and, with a line given, a secure-channel exchange.
// The test copies this file into a fresh project that installed the packed SDK.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { SidebandApiError, SidebandClient, type Authorization, type Movement } from '@sideband/merchant-sdk';
import { ChannelEndpoint, createChannelIdentity, MerchantChannel, SipTelephony, type ChannelCard } from '@sideband/merchant-sdk/channel';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const say = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const client = new SidebandClient({ baseUrl: env('SIDEBAND_URL'), keyId: env('SIDEBAND_KEY_ID'), privateKey: env('SIDEBAND_PRIVATE_KEY') });

const authorization: Authorization = await client.authorizations.create({ customer: { address: env('CUSTOMER_ADDRESS') }, amount: 1250, currency: 'EUR', description: 'A book', capture: 'manual' });
const capture: Movement = await client.authorizations.capture(authorization.id);
const refund: Movement = await client.authorizations.refund(authorization.id, { amount: 1250 });
const refunded = await client.authorizations.retrieve(authorization.id);
let missing = '';
try {
  await client.authorizations.retrieve('auth_none');
} catch (e) {
  if (e instanceof SidebandApiError) missing = e.code;
}
say({ step: 'purchase', authorized: authorization.status, captured: capture.amount, refunded: refund.amount, finally: refunded.status, missing });

if (process.env.CHANNEL_LINE) {
  const line = JSON.parse(process.env.CHANNEL_LINE) as { registrar: string; username: string; password: string; lineNumber: string; numbers: string[] };
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const identity = await createChannelIdentity('consumer.example');
  const telephony = await SipTelephony.start({ host: '127.0.0.1', registrar: line.registrar, username: line.username, password: line.password, lineNumber: line.lineNumber, numbers: line.numbers, logger: quiet });
  const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: line.numbers, mediaAddress: '127.0.0.1', reservationTtlMs: 5000, ringTimeoutMs: 5000, exchangeTimeoutMs: 5000 });
  const cards: ChannelCard[] = [];
  const channel = new MerchantChannel({
    client, endpoint, listen: { host: '127.0.0.1', port: 0 },
    onCard: (card) => void cards.push(card),
    goods: () => [{ kind: 'goods', contentType: 'text/plain', data: Buffer.from('goods').toString('base64') }],
  });
  const url = await channel.start();
  say({ step: 'channel', url, fingerprint: identity.fingerprint });
  // The provider registers the endpoint, then names the next customer on stdin.
  const input = createInterface({ input: process.stdin });
  const [address] = await new Promise<string[]>((resolve) => input.once('line', (l) => resolve([l.trim()])));
  input.close();
  const paid = await client.authorizations.create({ customer: { address: address! }, amount: 700, currency: 'EUR' });
  const { outcome } = await channel.requestCard(paid.id, 1);
  const result = await outcome;
  // Only a digest of the card leaves this process: never its number.
  const digest = cards[0] ? createHash('sha256').update(cards[0].number).digest('hex') : null;
  say({ step: 'exchange', ok: result.ok, cards: cards.length, cardDigest: digest });
  await channel.stop();
  await channel.stop();
}
