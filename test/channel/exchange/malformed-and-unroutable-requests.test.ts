import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Exchange, ExchangeAddress } from '../../../src/channel/exchange/exchange.ts';
import type { SipMessage } from '@sideband/sip/wire';
import { Metrics } from '../../../src/observability/metrics.ts';
import { crlf } from '../sip/messages.ts';
import { UdpPeer } from '../sip/udp-peer.ts';
import { startExchange } from './exchange-harness.ts';

const isStatus = (status: number) => (m: SipMessage) => m.kind === 'response' && m.status === status;

describe('the exchange with malformed and unroutable requests', { timeout: 20_000 }, () => {
  const metrics = new Metrics({ defaults: false });
  let exchange: Exchange;
  let at: ExchangeAddress;
  let peer: UdpPeer;

  before(async () => {
    ({ exchange, at } = await startExchange('exchange-malformed', metrics));
    peer = await UdpPeer.open();
  });
  after(async () => {
    await exchange?.stop();
    await peer?.close();
  });

  const request = (method: string, branch: string, overrides: { uri?: string; to?: string; extra?: string[]; maxForwards?: string } = {}) => crlf(
    `${method} ${overrides.uri ?? 'sip:+15550199@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch};rport`,
    `Max-Forwards: ${overrides.maxForwards ?? '70'}`,
    `To: ${overrides.to ?? '<sip:+15550199@127.0.0.1>'}`,
    'From: <sip:+15550100@127.0.0.1>;tag=f1',
    `Call-ID: ${branch}@peer`,
    `CSeq: 1 ${method}`,
    'Contact: <sip:+15550100@127.0.0.1:1>',
    ...(overrides.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  );

  it('drops bytes that are not SIP, and counts them by cause', async () => {
    for (const junk of ['\x00\x01\x02', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\n\r\n']) await peer.send(junk, at.udpPort);
    await sleep(50);
    const text = await metrics.registry.metrics();
    assert.match(text, /sideband_sip_dropped_total\{role="exchange",cause="head-unterminated"\} 1/);
    assert.match(text, /sideband_sip_dropped_total\{role="exchange",cause="header-missing"\} 2/);
  });

  it('answers what it will not relay with the RFC\'s status', async () => {
    const cases: [Buffer, number][] = [
      // §16.3 step 3: Max-Forwards 0 is 483, except OPTIONS, answered by the exchange itself.
      [request('INVITE', 'z9hG4bKmf0', { maxForwards: '0' }), 483],
      [request('OPTIONS', 'z9hG4bKmf0opt', { maxForwards: '0' }), 200],
      // §16.3 step 2: a scheme the exchange does not route.
      [request('INVITE', 'z9hG4bKtel', { uri: 'tel:+15550199' }), 416],
      // An in-dialog request for a dialog the exchange never set up: not an open relay.
      [request('BYE', 'z9hG4bKnodlg', { to: '<sip:+15550199@127.0.0.1>;tag=t9', extra: [`Route: <sip:127.0.0.1:${at.udpPort};lr>`] }), 481],
      [request('BYE', 'z9hG4bKnoroute', { to: '<sip:+15550199@127.0.0.1>;tag=t9' }), 404],
      [request('BYE', 'z9hG4bKoutside'), 481],
      [request('SUBSCRIBE', 'z9hG4bKsub'), 405],
      [request('REGISTER', 'z9hG4bKreg', { uri: 'sip:127.0.0.1' }), 401],
    ];
    for (const [bytes, status] of cases) {
      await peer.send(bytes, at.udpPort);
      await peer.next(isStatus(status));
    }
  });

  it('challenges an INVITE without credentials, and one whose credentials do not verify', async () => {
    await peer.send(request('INVITE', 'z9hG4bKnoauth'), at.udpPort);
    const challenge = await peer.next(isStatus(407));
    assert.match(challenge.headers.get('Proxy-Authenticate')!, /^Digest realm="sideband", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    await peer.send(request('INVITE', 'z9hG4bKbadauth', { extra: ['Proxy-Authorization: Digest username="provider", realm="sideband", nonce="forged", uri="sip:+15550199@127.0.0.1", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="c"'] }), at.udpPort);
    await peer.next((m) => isStatus(407)(m) && m.headers.get('Call-ID') === 'z9hG4bKbadauth@peer');
    assert.equal(exchange.registrations().length, 0);
  });
});
