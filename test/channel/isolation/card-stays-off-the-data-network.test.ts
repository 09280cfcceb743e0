import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { BlockList } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NetworkNamespaces, networkNamespacesUnavailable } from '../../support/network-namespaces.ts';
import { testCardNumber } from '../../support/test-cards.ts';
import { carries, LinkCapture } from './link-capture.ts';
import { RunnerProcess } from './runner-process.ts';

/*
 * Two networks on separate interfaces:
 *
 *   sb-prov ──── data network 198.51.100.0/24 (sb-data-p ↔ sb-data-m) ──── sb-merch
 *      │ 192.0.2.1/30                                            192.0.2.5/30 │
 *      └── sb-tel-p ↔ sb-tel-xp ── sb-xchg (forwards) ── sb-tel-xm ↔ sb-tel-m ─┘
 *                      192.0.2.2/30     exchange       192.0.2.6/30
 *
 * The gateway and the merchant's web stack talk HTTP on the data network, in clear (no
 * TLS here, so a card on it would show); the secure channel's SIP goes to the exchange and
 * its TLS media provider ↔ merchant through the exchange's namespace. Nothing routes
 * between the two networks.
 */
const PROV = 'sb-prov';
const MERCH = 'sb-merch';
const XCHG = 'sb-xchg';
const DATA = { provider: '198.51.100.1', merchant: '198.51.100.2' };
const TEL = { provider: '192.0.2.1', exchangeToProvider: '192.0.2.2', merchant: '192.0.2.5', exchangeToMerchant: '192.0.2.6' };
const EXCHANGE_PORT = 5060;

// The gateway listens beyond loopback here, so its line password must be a strong one (no default exists).
const PROVIDER = { username: 'provider', password: randomBytes(18).toString('base64url'), lineNumber: '+15550100000', numbers: ['+15550100001', '+15550100002'] };
const SHOP = { username: 'shop', password: 'shop-line-password', lineNumber: '+15550199000', numbers: ['+15550199001', '+15550199002'] };
const CARD_INDEX = 60;

const tsharkMissing = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'tshark missing (apt-get install tshark)';
const unavailable = tsharkMissing ?? networkNamespacesUnavailable();

const inRange = (cidr: string) => {
  const list = new BlockList();
  const [address, length] = cidr.split('/');
  list.addSubnet(address!, Number(length), 'ipv4');
  return (a: string) => list.check(a, 'ipv4');
};

/** The ways a card number is commonly written: whole, and in groups of four by spaces or dashes. */
const writings = (pan: string) => [pan, pan.replace(/(\d{4})(?=\d)/g, '$1 '), pan.replace(/(\d{4})(?=\d)/g, '$1-')];

interface ProviderReady { listen: Record<string, string>; merchantId: string; keyId: string; privateKeyPem: string; customerAddress: string }
interface MerchantReady { channelUrl: string; lineNumber: string; fingerprint: string }
interface Purchase { authorizationId: string; authorizationStatus: string; exchangeId: string; ok: boolean; cause: string | null; receivedKinds: string[]; sent: number; acquired: string[]; captured: number | null }

describe('the secure channel keeps the card off the data network (network namespaces)', { skip: unavailable ?? false }, () => {
  const net = new NetworkNamespaces();
  let dir = '';
  let dataLink: LinkCapture | undefined;
  let telephoneLink: LinkCapture | undefined;
  const runners: RunnerProcess[] = [];
  let exchange: RunnerProcess;
  let provider: RunnerProcess;
  let merchant: RunnerProcess;
  let gateway: ProviderReady;
  let shop: MerchantReady;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-isolation-'));
    for (const ns of [PROV, MERCH, XCHG]) net.add(ns);
    net.link({ ns: PROV, name: 'sb-data-p', address: `${DATA.provider}/24` }, { ns: MERCH, name: 'sb-data-m', address: `${DATA.merchant}/24` });
    net.link({ ns: PROV, name: 'sb-tel-p', address: `${TEL.provider}/30` }, { ns: XCHG, name: 'sb-tel-xp', address: `${TEL.exchangeToProvider}/30` });
    net.link({ ns: MERCH, name: 'sb-tel-m', address: `${TEL.merchant}/30` }, { ns: XCHG, name: 'sb-tel-xm', address: `${TEL.exchangeToMerchant}/30` });
    net.forward(XCHG);
    net.route(PROV, '192.0.2.4/30', TEL.exchangeToProvider);
    net.route(MERCH, '192.0.2.0/30', TEL.exchangeToMerchant);

    [dataLink, telephoneLink] = await Promise.all([
      LinkCapture.start(net, PROV, 'sb-data-p', DATA.merchant, join(dir, 'data-link.pcapng')),
      LinkCapture.start(net, PROV, 'sb-tel-p', TEL.exchangeToProvider, join(dir, 'telephone-link.pcapng')),
    ]);

    const lines = [
      { username: PROVIDER.username, password: PROVIDER.password, numbers: [PROVIDER.lineNumber, ...PROVIDER.numbers] },
      { username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] },
    ];
    ({ runner: exchange } = await RunnerProcess.start(net, XCHG, 'exchange-runner.ts', { ISOLATION_EXCHANGE_HOST: TEL.exchangeToProvider, ISOLATION_EXCHANGE_PORT: String(EXCHANGE_PORT), ISOLATION_LINES: JSON.stringify(lines) }));
    runners.push(exchange);
    ({ runner: provider, ready: gateway } = await RunnerProcess.start<ProviderReady>(net, PROV, 'provider-runner.ts', {
      ISOLATION_DATA_ADDRESS: DATA.provider,
      ISOLATION_TELEPHONE_ADDRESS: TEL.provider,
      ISOLATION_EXCHANGE_HOST: TEL.exchangeToProvider,
      ISOLATION_EXCHANGE_PORT: String(EXCHANGE_PORT),
      ISOLATION_PROVIDER_LINE: JSON.stringify({ password: PROVIDER.password, lineNumber: PROVIDER.lineNumber, numbers: PROVIDER.numbers }),
      ISOLATION_CARD_INDEX: String(CARD_INDEX),
    }));
    runners.push(provider);
    ({ runner: merchant, ready: shop } = await RunnerProcess.start<MerchantReady>(net, MERCH, 'merchant-runner.ts', {
      ISOLATION_MERCHANT_API: gateway.listen.merchantHttp!,
      ISOLATION_KEY_ID: gateway.keyId,
      ISOLATION_PRIVATE_KEY: gateway.privateKeyPem,
      ISOLATION_DATA_ADDRESS: DATA.merchant,
      ISOLATION_TELEPHONE_ADDRESS: TEL.merchant,
      ISOLATION_REGISTRAR: `sip:${TEL.exchangeToProvider}:${EXCHANGE_PORT}`,
      ISOLATION_SHOP_LINE: JSON.stringify(SHOP),
    }));
    runners.push(merchant);
    await provider.command('setChannel', { url: shop.channelUrl, lineNumber: shop.lineNumber, fingerprint: shop.fingerprint });
  }, { timeout: 30_000 });

  after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await Promise.all([dataLink?.stop(), telephoneLink?.stop()]);
    await net.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, { timeout: 20_000 });

  it('puts each listener on its own network, and the two networks meet nowhere', { timeout: 15_000 }, async () => {
    assert.ok(gateway.listen.merchantHttp!.startsWith(`${DATA.provider}:`), 'the merchant API is on the data network');
    assert.ok(gateway.listen.operatorHttp!.startsWith(`${DATA.provider}:`), 'so is the operator API');
    assert.equal(new URL(shop.channelUrl).hostname, DATA.merchant, 'the merchant negotiates on the data network');
    const registered = (await exchange.command<Array<{ number: string; contact: string }>>('registrations')).map((r) => `${r.number} ${/@([^:;>]+)/.exec(r.contact)?.[1]}`).sort();
    assert.deepEqual(registered, [
      ...[PROVIDER.lineNumber, ...PROVIDER.numbers].map((n) => `${n} ${TEL.provider}`),
      ...[SHOP.lineNumber, ...SHOP.numbers].map((n) => `${n} ${TEL.merchant}`),
    ].sort(), 'both ends registered from their telephone-network addresses');

    // The telephone path between the ends goes through the exchange's namespace.
    const hop = (ns: string, to: string) => {
      const [route] = JSON.parse(net.exec(ns, ['ip', '-j', 'route', 'get', to])) as Array<{ gateway?: string; dev: string }>;
      return `${route!.dev} via ${route!.gateway ?? 'none'}`;
    };
    assert.equal(hop(PROV, TEL.merchant), `sb-tel-p via ${TEL.exchangeToProvider}`);
    assert.equal(hop(MERCH, TEL.provider), `sb-tel-m via ${TEL.exchangeToMerchant}`);
    assert.equal(hop(PROV, DATA.merchant), 'sb-data-p via none');

    // Connections tried from inside the namespaces (from the root namespace an unrouted
    // address can seem reachable). The first of each pair shows the probe does connect.
    const probe = async (ns: string, targets: string[]) => JSON.parse(await net.run(ns, [process.execPath, '--conditions=sideband-source', '--import', 'tsx', join(import.meta.dirname, 'reachability-probe.ts'), ...targets], 15_000)) as Record<string, string>;
    const apiPort = gateway.listen.merchantHttp!.split(':')[1]!;
    const channelPort = new URL(shop.channelUrl).port;
    const [fromExchange, fromMerchant, fromProvider] = await Promise.all([
      probe(XCHG, [`${DATA.provider}:${apiPort}`, `${DATA.merchant}:${channelPort}`]),
      probe(MERCH, [`${DATA.provider}:${apiPort}`, `${TEL.provider}:${apiPort}`]),
      probe(PROV, [`${DATA.merchant}:${channelPort}`, `${TEL.merchant}:${channelPort}`]),
    ]);
    assert.deepEqual(fromExchange, { [`${DATA.provider}:${apiPort}`]: 'ENETUNREACH', [`${DATA.merchant}:${channelPort}`]: 'ENETUNREACH' }, 'the exchange has no way onto the data network');
    assert.deepEqual(fromMerchant, { [`${DATA.provider}:${apiPort}`]: 'connected', [`${TEL.provider}:${apiPort}`]: 'ECONNREFUSED' }, 'the provider answers on the telephone network, but its merchant API is not there');
    assert.deepEqual(fromProvider, { [`${DATA.merchant}:${channelPort}`]: 'connected', [`${TEL.merchant}:${channelPort}`]: 'ECONNREFUSED' }, 'the merchant\'s negotiation endpoint is on the data network only');
  });

  it('a purchase through the channel: the card reaches the acquirer hook over the call, never over the data network', { timeout: 25_000 }, async () => {
    const pan = testCardNumber(CARD_INDEX);
    const bought = await merchant.command<Purchase>('buy', { customerAddress: gateway.customerAddress }, 20_000);
    assert.equal(bought.authorizationStatus, 'approved');
    assert.equal(bought.ok, true, `channel outcome: ${bought.cause}`);
    assert.deepEqual(bought.receivedKinds, ['card']);
    assert.equal(bought.sent, 1, 'the goods went back over the call');
    assert.deepEqual(bought.acquired, [createHash('sha256').update(pan).digest('hex')], 'the card reached the merchant\'s acquirer hook');
    assert.equal(bought.captured, 700);

    const view = await provider.command<Record<string, unknown>>('settledExchange', { id: bought.exchangeId });
    assert.deepEqual([view.status, view.initiator, view.providerRole, view.firstSender], ['completed', 'merchant', 'caller', 'provider'], JSON.stringify(view));
    assert.ok((await provider.command<string[]>('cardOpenings')).includes('secure-channel'), 'the vault opened the card for the channel');
    const call = await exchange.command<Record<string, unknown>>('answeredCall', { caller: PROVIDER.lineNumber });
    assert.deepEqual([call.callerLine, call.calleeLine, call.outcome], ['provider', 'shop', 'answered'], JSON.stringify(call));
    assert.ok(SHOP.numbers.includes(call.calledNumber as string), 'the provider called a number the merchant reserved');

    await Promise.all([dataLink!.finish(), telephoneLink!.finish()]);
    const [data, telephone] = await Promise.all([dataLink!.read(), telephoneLink!.read()]);

    // The data network carried the merchant's whole purchase, in clear…
    const isData = inRange('198.51.100.0/24');
    assert.ok([...data.addresses].every(isData), `only data-network addresses on the data link: ${[...data.addresses].join(', ')}`);
    const merchantToGateway = data.streams.filter((s) => s.src === DATA.merchant && s.dst === DATA.provider).map((s) => s.bytes.toString('latin1')).join('\n');
    for (const request of ['GET /v1/channel ', 'POST /v1/authorizations ', 'POST /v1/channel/exchanges ', `POST /v1/authorizations/${bought.authorizationId}/captures `]) {
      assert.ok(merchantToGateway.includes(`${request}HTTP/1.1\r\n`), `${request.trim()} crossed the data link`);
    }
    assert.ok(!carries(data, 'SIP/2.0'), 'no signalling on the data link');
    // …and never the card, in any of its usual writings.
    for (const [i, written] of writings(pan).entries()) assert.ok(!carries(data, written), `the card (writing ${i}) crossed the data link`);

    // The telephone link carried the call: SIP to the exchange, TLS from the provider to the merchant.
    const isTelephone = inRange('192.0.2.0/24');
    assert.ok([...telephone.addresses].every(isTelephone), `only telephone-network addresses on the telephone link: ${[...telephone.addresses].join(', ')}`);
    assert.ok(telephone.datagrams.some((d) => d.src === TEL.provider && d.dst === TEL.exchangeToProvider && d.bytes.toString('latin1').startsWith(`INVITE sip:${call.calledNumber as string}@`)), 'the INVITE went to the exchange');
    const media = telephone.streams.filter((s) => [s.src, s.dst].sort().join() === [TEL.provider, TEL.merchant].sort().join());
    assert.equal(media.length, 2, 'one media connection, both directions, between the ends');
    // RFC 8446 §5.1: every record starts with its ContentType; the first is a handshake (22).
    for (const direction of media) assert.equal(direction.bytes[0], 22, `${direction.src} opened with a TLS handshake record`);
    assert.ok(!carries(telephone, 'HTTP/1.1'), 'no HTTP on the telephone link');
    for (const [i, written] of writings(pan).entries()) assert.ok(!carries(telephone, written), `the card (writing ${i}) in clear on the telephone link`);
  });
});
