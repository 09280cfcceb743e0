import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Exchange, type ExchangeAddress } from '../../../src/channel/exchange/exchange.ts';
import type { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import { readTlsStream } from '@sideband/sip/sdp';
import { type IncomingCall, SipFailure, UserAgent } from '@sideband/sip/user-agent';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { answer, lines, offer, startExchange, startUserAgent } from './exchange-harness.ts';

const rejection = async (promise: Promise<unknown>): Promise<SipFailure> => {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof SipFailure, `not a SipFailure: ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
};

const password = (username: string) => lines.find((l) => l.username === username)!.password;

for (const transport of ['UDP', 'TCP'] as const) {
  describe(`calls through the built-in exchange over ${transport}`, { timeout: 60_000 }, () => {
    const metrics = new Metrics({ defaults: false });
    let exchange: Exchange;
    let sink: InMemoryCallDetailRecordSink;
    let at: ExchangeAddress;
    let registrar: string;
    let provider: UserAgent;
    let shop: UserAgent;

    before(async () => {
      ({ exchange, sink, at } = await startExchange(`exchange-${transport}`, metrics));
      registrar = transport === 'UDP' ? at.udpUri : at.tcpUri;
      provider = await startUserAgent(`provider-${transport}`, transport);
      shop = await startUserAgent(`shop-${transport}`, transport);
      await provider.register(['+15550100'], { registrar, username: 'provider', password: password('provider'), expires: 120 });
      await shop.register(['+15550199', '+18005550199'], { registrar, username: 'shop', password: password('shop'), expires: 120 });
    });
    after(async () => {
      await provider?.stop();
      await shop?.stop();
      await exchange?.stop();
    });

    it('registers each number with Digest at the exchange, bound to the user agent\'s contact', () => {
      const bindings = exchange.registrations();
      assert.deepEqual(bindings.map((b) => b.number).sort(), ['+15550100', '+15550199', '+18005550199']);
      for (const b of bindings) assert.match(b.contact, transport === 'TCP' ? /;transport=tcp$/ : /^sip:\+\d+@127\.0\.0\.1:\d+$/);
      assert.equal(bindings.find((b) => b.number === '+15550100')!.username, 'provider');
    });

    it('connects a call: the callee sees DNIS and ANI, answers with SDP, BYE ends it, and a record is written', async () => {
      const incoming = new Promise<IncomingCall>((resolve) => (shop.onInvite = resolve));
      const placing = provider.call('+15550199', { from: '+15550100', sdp: offer });
      const ringing = await incoming;
      assert.equal(ringing.dnis, '+15550199');
      assert.equal(ringing.ani, '+15550100', 'P-Asserted-Identity from the exchange');
      assert.equal(ringing.fromUser, '+15550100');
      assert.deepEqual(readTlsStream(ringing.offer), readTlsStream(offer));
      const answered = ringing.accept(answer);
      const call = await placing;
      const callee = await answered;
      assert.equal(call.remoteSdp, answer);
      assert.equal(callee.remoteSdp, offer);
      assert.equal(call.callId, callee.callId);

      const ended = callee.ended;
      await sleep(50);
      await call.bye();
      assert.equal((await ended).by, 'remote');
      assert.equal((await call.ended).by, 'local');

      const record = await sink.next((r) => r.callId === call.callId);
      assert.equal(record.callerNumber, '+15550100');
      assert.equal(record.calledNumber, '+15550199');
      assert.equal(record.callerLine, 'provider');
      assert.equal(record.calleeLine, 'shop');
      assert.equal(record.outcome, 'answered');
      assert.equal(record.status, 200);
      assert.equal(record.releasedBy, 'caller');
      assert.equal(record.billedParty, 'caller');
      assert.equal(record.billedNumber, '+15550100');
      assert.equal(record.reverseCharge, false);
      assert.equal(record.bytes, null);
      assert.ok(record.answeredAt && record.answeredAt >= record.startedAt && record.endedAt >= record.answeredAt);
      assert.ok(record.durationMs >= 40, `${record.durationMs} ms`);
    });

    it('bills a call to a reverse-charge number to the callee, and records who hung up', async () => {
      shop.onInvite = (incoming) => void incoming.accept(answer).then((c) => setTimeout(() => void c.bye(), 20));
      const call = await provider.call('+18005550199', { from: '+15550100', sdp: offer });
      assert.equal((await call.ended).by, 'remote');
      const record = await sink.next((r) => r.callId === call.callId);
      assert.equal(record.reverseCharge, true);
      assert.equal(record.billedParty, 'callee');
      assert.equal(record.billedNumber, '+18005550199');
      assert.equal(record.billedLine, 'shop');
      assert.equal(record.releasedBy, 'callee');
    });

    it('refuses a number nobody has registered: 404, SIP_NUMBER_UNKNOWN', async () => {
      const e = await rejection(provider.call('+15550123', { from: '+15550100', sdp: offer }));
      assert.equal(e.code, 'SIP_NUMBER_UNKNOWN');
      assert.equal(e.status, 404);
      const record = await sink.next((r) => r.calledNumber === '+15550123');
      assert.equal(record.outcome, 'not-found');
      assert.equal(record.answeredAt, null);
    });

    it('passes on the callee\'s 486: SIP_BUSY', async () => {
      shop.onInvite = (incoming) => incoming.reject(486);
      const e = await rejection(provider.call('+15550199', { from: '+15550100', sdp: offer }));
      assert.equal(e.code, 'SIP_BUSY');
      assert.equal(e.status, 486);
      assert.equal((await sink.next((r) => r.outcome === 'busy')).status, 486);
    });

    it('gives up on an unanswered call after the ring timeout: CANCEL, 487, SIP_NO_ANSWER', async () => {
      const cancelled = new Promise<void>((resolve) => (shop.onInvite = (incoming) => incoming.once('cancelled', resolve)));
      const e = await rejection(provider.call('+15550199', { from: '+15550100', sdp: offer, ringTimeoutMs: 300 }));
      assert.equal(e.code, 'SIP_NO_ANSWER');
      assert.equal(e.status, 487);
      await cancelled;
      const record = await sink.next((r) => r.outcome === 'cancelled');
      assert.equal(record.status, 487);
    });

    it('cancels a ringing call when the caller aborts: SIP_CANCELLED', async () => {
      const controller = new AbortController();
      const ringing = new Promise<IncomingCall>((resolve) => (shop.onInvite = resolve));
      const placing = provider.call('+15550199', { from: '+15550100', sdp: offer, signal: controller.signal });
      const incoming = await ringing;
      const cancelled = new Promise<void>((resolve) => incoming.once('cancelled', resolve));
      controller.abort();
      const e = await rejection(placing);
      assert.equal(e.code, 'SIP_CANCELLED');
      await cancelled;
      await assert.rejects(incoming.accept(answer), (x: SipFailure) => x.code === 'SIP_CALL_GONE');
    });

    it('refuses a caller claiming a number its line does not own: 403, SIP_FORBIDDEN', async () => {
      const mallory = await startUserAgent(`mallory-${transport}`, transport);
      try {
        const e = await rejection(mallory.call('+15550199', { from: '+15550100', sdp: offer, line: { registrar, username: 'mallory', password: password('mallory') } }));
        assert.equal(e.code, 'SIP_FORBIDDEN');
        assert.equal(e.status, 403);
        const record = await sink.next((r) => r.outcome === 'forbidden');
        assert.equal(record.callerLine, 'mallory');
        assert.equal(record.callerNumber, '+15550100');
        const wrong = await rejection(mallory.call('+15550199', { from: '+15550166', sdp: offer, line: { registrar, username: 'mallory', password: 'not-the-password' } }));
        assert.equal(wrong.code, 'SIP_UNAUTHENTICATED');
        assert.equal(wrong.status, 407);
        const register = await rejection(mallory.register(['+15550100'], { registrar, username: 'mallory', password: password('mallory') }));
        assert.equal(register.code, 'SIP_FORBIDDEN', 'nor may it register another line\'s number');
        const badPassword = await rejection(mallory.register(['+15550166'], { registrar, username: 'mallory', password: 'not-the-password' }));
        assert.equal(badPassword.code, 'SIP_UNAUTHENTICATED');
      } finally {
        await mallory.stop();
      }
    });

    it('answers 480 when the registered contact does not answer at all', async () => {
      const gone = await startUserAgent(`gone-${transport}`, transport);
      await gone.register(['+15550177'], { registrar, username: 'gone', password: password('gone'), expires: 120 });
      await gone.stop({ unregister: false });
      const e = await rejection(provider.call('+15550177', { from: '+15550100', sdp: offer }));
      assert.equal(e.status, 480);
      assert.equal(e.code, 'SIP_NO_ANSWER');
      assert.equal((await sink.next((r) => r.calledNumber === '+15550177')).outcome, 'unreachable');
    });

    it('fails a call still ringing when the caller\'s user agent stops, and cancels it at the callee', async () => {
      const hasty = await startUserAgent(`hasty-${transport}`, transport);
      await hasty.register(['+15550166'], { registrar, username: 'mallory', password: password('mallory'), expires: 120 });
      const ringing = new Promise<IncomingCall>((resolve) => (shop.onInvite = resolve));
      const failed = rejection(hasty.call('+15550199', { from: '+15550166', sdp: offer }));
      const incoming = await ringing;
      const cancelled = new Promise<void>((resolve) => incoming.once('cancelled', resolve));
      await sleep(20);
      await hasty.stop();
      assert.equal((await failed).code, 'SIP_CALL_GONE');
      await cancelled;
    });

    it('counts calls by outcome', async () => {
      const text = await metrics.registry.metrics();
      for (const outcome of ['answered', 'not-found', 'busy', 'cancelled', 'forbidden']) assert.match(text, new RegExp(`sideband_sip_calls_total\\{role="exchange",outcome="${outcome}"\\} [1-9]`), outcome);
    });
  });
}

describe('registration refresh', { timeout: 20_000 }, () => {
  it('refreshes a binding before it expires', async () => {
    const { exchange, at } = await startExchange('exchange-refresh');
    const ua = await startUserAgent('refresh', 'UDP');
    try {
      await ua.register(['+15550100'], { registrar: at.udpUri, username: 'provider', password: password('provider'), expires: 2 });
      const first = exchange.registrations()[0]!.expiresAt.getTime();
      await sleep(1500);
      const refreshed = exchange.registrations()[0]!.expiresAt.getTime();
      assert.ok(refreshed > first + 500, 'refreshed at half the granted time');
    } finally {
      await ua.stop();
      await exchange.stop();
    }
    assert.equal(exchange.registrations().length, 0, 'stop() unregistered');
  });
});

const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const socket = createSocket('udp6');
  socket.once('error', () => resolve(false));
  socket.bind(0, '::1', () => socket.close(() => resolve(true)));
});

describe('a call over IPv6 loopback', { skip: ipv6Loopback ? false : '::1 cannot be bound here', timeout: 20_000 }, () => {
  for (const transport of ['UDP', 'TCP'] as const) {
    it(`registers and connects over ${transport}, with bracketed hosts in Via, Contact and Record-Route`, async () => {
      const exchange = new Exchange({ logger: createTestLogger(`exchange-ipv6-${transport}`) });
      const at = await exchange.start({ host: '::1', udpPort: 0, tcpPort: 0, lines });
      const registrar = transport === 'UDP' ? at.udpUri : at.tcpUri;
      assert.match(registrar, /^sip:\[::1\]:\d+/);
      const ua = (name: string) => new UserAgent({ host: '::1', ...(transport === 'UDP' ? { udpPort: 0 } : { tcpPort: 0 }), logger: createTestLogger(`${name}-ipv6-${transport}`) });
      const caller = ua('provider');
      const callee = ua('shop');
      try {
        await caller.start();
        await callee.start();
        await caller.register(['+15550100'], { registrar, username: 'provider', password: password('provider') });
        await callee.register(['+15550199'], { registrar, username: 'shop', password: password('shop') });
        const ani = new Promise<string | null>((resolve) => (callee.onInvite = (incoming) => (resolve(incoming.ani), void incoming.accept(answer))));
        const call = await caller.call('+15550199', { from: '+15550100', sdp: offer });
        assert.equal(await ani, '+15550100');
        await call.bye();
      } finally {
        await caller.stop();
        await callee.stop();
        await exchange.stop();
      }
    });
  }
});
