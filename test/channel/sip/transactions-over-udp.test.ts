import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metrics } from '../../../src/observability/metrics.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { createResponse, type ServerTransaction, TransactionLayer } from '@sideband/sip/protocol';
import { SipMetrics } from '@sideband/sip';
import { UdpTransport } from '@sideband/sip/transport';
import { UserAgent } from '@sideband/sip/user-agent';
import { serializeMessage, SipHeaders, type SipMessage, type SipRequest, cseqOf, topViaOf } from '@sideband/sip/wire';
import { crlf } from './messages.ts';
import { UdpPeer } from './udp-peer.ts';

const timers = { T1: 20, T2: 80, T4: 100 };
const logger = createTestLogger('sip-transactions');
const isRequest = (method: string) => (m: SipMessage) => m.kind === 'request' && m.method === method;
const isStatus = (status: number) => (m: SipMessage) => m.kind === 'response' && m.status === status;

function request(method: string, port: number, branch: string): SipRequest {
  const headers = new SipHeaders()
    .append('Max-Forwards', '70')
    .append('From', '<sip:+15550100@127.0.0.1>;tag=t1')
    .append('To', '<sip:+15550199@127.0.0.1>')
    .append('Call-ID', `${branch}@127.0.0.1`)
    .append('CSeq', `1 ${method}`)
    .append('Contact', '<sip:+15550100@127.0.0.1>');
  return { kind: 'request', method, uri: `sip:+15550199@127.0.0.1:${port}`, headers, body: Buffer.alloc(0) };
}

/** A request as a raw peer sends it, Via pointing at a port of our choosing. */
const peerRequest = (method: string, viaPort: number, branch: string, extra: string[] = [], body = '') => crlf(
  `${method} sip:+15550199@127.0.0.1 SIP/2.0`,
  `Via: SIP/2.0/UDP 127.0.0.1:${viaPort};branch=${branch};rport`,
  'Max-Forwards: 70',
  'To: <sip:+15550199@127.0.0.1>',
  'From: <sip:+15550100@127.0.0.1>;tag=peer1',
  `Call-ID: ${branch}@peer`,
  `CSeq: 1 ${method}`,
  'Contact: <sip:+15550100@127.0.0.1:1>',
  ...extra,
  `Content-Length: ${Buffer.byteLength(body)}`,
  '',
  body,
);

describe('transactions over UDP (RFC 3261 §17)', () => {
  let layer: TransactionLayer;
  let port: number;
  let peer: UdpPeer;
  const seen: SipRequest[] = [];
  let respondWith: (request: SipRequest, transaction: ServerTransaction | null) => void = () => undefined;
  const metrics = new Metrics({ defaults: false });

  before(async () => {
    layer = new TransactionLayer(timers, logger, new SipMetrics(metrics, 'user-agent'));
    const udp = await UdpTransport.listen('127.0.0.1', 0, layer);
    layer.attach(udp);
    port = udp.local.port;
    layer.setUser({ request: (r, _s, t) => (seen.push(r), respondWith(r, t)) });
    peer = await UdpPeer.open();
  });
  after(async () => {
    await layer.close();
    await peer.close();
  });

  it('retransmits a non-INVITE request (Timer E) until a response, then stops', async () => {
    const responses: number[] = [];
    layer.sendRequest(request('OPTIONS', peer.port, 'e'), { transport: 'UDP', host: '127.0.0.1', port: peer.port }, { response: (r) => responses.push(r.status), timeout: () => assert.fail('timeout'), transportError: (e) => assert.fail(e) });
    await sleep(8 * timers.T1);
    const copies = peer.count(isRequest('OPTIONS'));
    assert.ok(copies >= 3, `${copies} copies after 8*T1: E fires at T1, 3*T1 and 7*T1`);
    const sent = peer.received.find((r) => isRequest('OPTIONS')(r.message))!.message as SipRequest;
    await peer.send(serializeMessage(createResponse(sent, 200, { toTag: 'x' })), port);
    await sleep(20);
    assert.deepEqual(responses, [200]);
    const after200 = peer.count(isRequest('OPTIONS'));
    await sleep(6 * timers.T2);
    assert.equal(peer.count(isRequest('OPTIONS')), after200, 'no retransmission after the final response');
  });

  it('retransmits an INVITE (Timer A) until a provisional response, and times out (Timer B) with none', async () => {
    let provisional = 0;
    layer.sendRequest(request('INVITE', peer.port, 'a'), { transport: 'UDP', host: '127.0.0.1', port: peer.port }, { response: () => provisional++, timeout: () => assert.fail('timeout'), transportError: (e) => assert.fail(e) });
    const invite = (await peer.next(isRequest('INVITE'))) as SipRequest;
    await sleep(4 * timers.T1);
    assert.ok(peer.count(isRequest('INVITE')) >= 2, 'retransmitted at T1 and 3*T1');
    await peer.send(serializeMessage(createResponse(invite, 180, { toTag: 'r' })), port);
    await sleep(10);
    const ringing = peer.count(isRequest('INVITE'));
    await sleep(8 * timers.T1);
    assert.equal(peer.count(isRequest('INVITE')), ringing, 'no retransmission in Proceeding');
    assert.equal(provisional, 1);

    const timedOut = await new Promise<number>((resolve) => {
      const started = Date.now();
      layer.sendRequest(request('INVITE', 9, 'b'), { transport: 'UDP', host: '127.0.0.1', port: peer.port }, { response: () => undefined, timeout: () => resolve(Date.now() - started), transportError: () => undefined });
    });
    assert.ok(timedOut >= 64 * timers.T1 - 5, `Timer B after 64*T1 (${timedOut} ms)`);
  });

  it('answers a retransmitted request from the transaction, without asking the transaction user again', async () => {
    seen.length = 0;
    respondWith = (r, t) => t?.respond(createResponse(r, 200, { toTag: 'srv' }));
    const bytes = peerRequest('OPTIONS', peer.port, 'z9hG4bKretrans');
    await peer.send(bytes, port);
    await peer.next(isStatus(200));
    await peer.send(bytes, port);
    await peer.next(isStatus(200));
    assert.equal(seen.filter((r) => r.method === 'OPTIONS').length, 1);
  });

  it('retransmits a failure response to INVITE (Timer G) until the ACK, and answers with received and rport', async () => {
    respondWith = (r, t) => {
      if (r.method === 'INVITE') t?.respond(createResponse(r, 486, { toTag: 'busy' }));
    };
    const before = peer.count(isStatus(486));
    // The Via names port 9; rport sends the response back to where the request came from.
    await peer.send(peerRequest('INVITE', 9, 'z9hG4bKtimerg', ['Content-Type: application/sdp'], 'v=0\r\n'), port);
    const busy = await peer.next(isStatus(486));
    assert.equal(topViaOf(busy).params.get('rport'), String(peer.port));
    assert.equal(topViaOf(busy).params.get('received'), '127.0.0.1', 'RFC 3581 §4: received is added with rport even when equal');
    await sleep(5 * timers.T1);
    assert.ok(peer.count(isStatus(486)) - before >= 3, 'G fires at T1, 3*T1, ...');
    await peer.send(crlf('ACK sip:+15550199@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKtimerg;rport', 'Max-Forwards: 70', 'To: <sip:+15550199@127.0.0.1>;tag=busy', 'From: <sip:+15550100@127.0.0.1>;tag=peer1', 'Call-ID: z9hG4bKtimerg@peer', 'CSeq: 1 ACK', 'Content-Length: 0', '', ''), port);
    await sleep(10);
    const acked = peer.count(isStatus(486));
    await sleep(4 * timers.T2);
    assert.equal(peer.count(isStatus(486)), acked, 'the ACK stops Timer G');
    assert.equal(seen.filter((r) => r.method === 'ACK').length, 0, 'the ACK for a failure is the transaction\'s, not the user\'s');
  });

  it('drops malformed datagrams and responses for transactions it never had, and counts them by cause', async () => {
    await peer.send('INVITE sip:x SIP/2.0\r\n\r\n', port);
    await peer.send(crlf('SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnotours', 'To: <sip:a@b>;tag=1', 'From: <sip:c@b>;tag=2', 'Call-ID: x', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''), port);
    await peer.send(peerRequest('OPTIONS', peer.port, 'rfc2543-branch'), port);
    await sleep(30);
    const text = await metrics.registry.metrics();
    for (const cause of ['header-missing', 'via-not-ours', 'branch-not-rfc3261']) assert.match(text, new RegExp(`sideband_sip_dropped_total\\{role="user-agent",cause="${cause}"\\} 1`), cause);
  });
});

describe('a user agent answering over UDP (RFC 3261 §13.3.1.4)', () => {
  let ua: UserAgent;
  let port: number;
  let peer: UdpPeer;

  before(async () => {
    ua = new UserAgent({ host: '127.0.0.1', udpPort: 0, logger, timers, trustedHosts: ['127.0.0.1'] });
    port = (await ua.start()).udp!.port;
    peer = await UdpPeer.open();
  });
  after(async () => {
    await ua.stop();
    await peer.close();
  });

  it('rings, retransmits its 200 until the ACK, and only then hands over the call', async () => {
    let accepted = false;
    ua.onInvite = (incoming) => {
      assert.equal(incoming.dnis, '+15550199');
      assert.equal(incoming.ani, '+15550100', 'P-Asserted-Identity from a trusted host');
      assert.equal(incoming.fromUser, '+15550100');
      void incoming.accept('v=0\r\n').then(() => (accepted = true));
    };
    await peer.send(peerRequest('INVITE', peer.port, 'z9hG4bKanswer', ['P-Asserted-Identity: <sip:+15550100@127.0.0.1>', 'Content-Type: application/sdp'], 'v=0\r\n'), port);
    await peer.next(isStatus(100));
    await peer.next(isStatus(180));
    const ok = await peer.next(isStatus(200));
    await sleep(5 * timers.T1);
    assert.ok(peer.count(isStatus(200)) >= 3, 'the 200 is retransmitted at T1, 3*T1, ...');
    assert.equal(accepted, false, 'not before the ACK');
    const toTag = /tag=([^;>\s]+)/.exec(ok.headers.get('To')!)![1];
    await peer.send(crlf('ACK sip:+15550199@127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKack2xx;rport`, 'Max-Forwards: 70', `To: <sip:+15550199@127.0.0.1>;tag=${toTag}`, 'From: <sip:+15550100@127.0.0.1>;tag=peer1', 'Call-ID: z9hG4bKanswer@peer', `CSeq: ${cseqOf(ok).seq} ACK`, 'Content-Length: 0', '', ''), port);
    await sleep(20);
    assert.equal(accepted, true);
    const settled = peer.count(isStatus(200));
    await sleep(4 * timers.T2);
    assert.equal(peer.count(isStatus(200)), settled, 'the ACK stops the retransmission');
  });

  it('refuses INVITEs it cannot take, each with the RFC\'s status', async () => {
    ua.onInvite = (incoming) => incoming.reject(603);
    const cases: [Buffer, number][] = [
      [peerRequest('INVITE', peer.port, 'z9hG4bKnosdp'), 488],
      [peerRequest('INVITE', peer.port, 'z9hG4bKrequire', ['Require: 100rel', 'Content-Type: application/sdp'], 'v=0\r\n'), 420],
      [peerRequest('INVITE', peer.port, 'z9hG4bKtype', ['Content-Type: text/plain'], 'hello'), 415],
      [peerRequest('MESSAGE', peer.port, 'z9hG4bKmethod'), 405],
      [peerRequest('constructor', peer.port, 'z9hG4bKproto'), 405],
      [peerRequest('BYE', peer.port, 'z9hG4bKnodialog'), 481],
      [peerRequest('INVITE', peer.port, 'z9hG4bKdecline', ['Content-Type: application/sdp'], 'v=0\r\n'), 603],
    ];
    for (const [bytes, status] of cases) {
      await peer.send(bytes, port);
      await peer.next(isStatus(status));
    }
    await peer.send(peerRequest('OPTIONS', peer.port, 'z9hG4bKping'), port);
    const pong = await peer.next(isStatus(200));
    assert.match(pong.headers.get('Allow')!, /INVITE, ACK, BYE, CANCEL, OPTIONS/);
  });

  it('does not believe a P-Asserted-Identity from a host it does not trust', async () => {
    const strict = new UserAgent({ host: '127.0.0.1', udpPort: 0, logger, timers });
    const strictPort = (await strict.start()).udp!.port;
    try {
      const ani = new Promise<string | null>((resolve) => {
        strict.onInvite = (incoming) => {
          resolve(incoming.ani);
          incoming.reject(486);
        };
      });
      await peer.send(peerRequest('INVITE', peer.port, 'z9hG4bKspoof', ['P-Asserted-Identity: <sip:+15550100@127.0.0.1>', 'Content-Type: application/sdp'], 'v=0\r\n'), strictPort);
      assert.equal(await ani, null);
    } finally {
      await strict.stop();
    }
  });
});
