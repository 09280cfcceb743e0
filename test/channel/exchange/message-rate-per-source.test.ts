import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import type { Exchange, ExchangeAddress } from '../../../src/channel/exchange/exchange.ts';
import type { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import { defaultSourceLimits } from '@sideband/sip/transport';
import type { UserAgent } from '@sideband/sip/user-agent';
import { Metrics } from '../../../src/observability/metrics.ts';
import { crlf } from '../sip/messages.ts';
import { limitedCount, until } from './connection-flood.ts';
import { answer, linePassword, offer, startExchangeWithShop, startUserAgent } from './exchange-harness.ts';

const password = linePassword;
const MAX_DATAGRAMS = 100_000;

/**
 * OPTIONS from 127.0.0.2, each a new transaction, 50 every 10 ms (some 5,000 a second,
 * fifty times the default rate), until stopped or MAX_DATAGRAMS. Paced, so that the test
 * shows the exchange's limit and not the kernel dropping datagrams from a full socket buffer.
 */
class MessageFlood {
  sent = 0;
  answered = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  private constructor(private readonly socket: Socket, private readonly port: number) {
    socket.on('message', () => this.answered++);
    this.done = this.run();
  }

  static async start(port: number): Promise<MessageFlood> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', () => resolve()));
    return new MessageFlood(socket, port);
  }

  private async run(): Promise<void> {
    const local = this.socket.address();
    while (!this.stopped && this.sent < MAX_DATAGRAMS) {
      const batch = [];
      for (let i = 0; i < 50; i++, this.sent++) {
        batch.push(new Promise<void>((resolve) => this.socket.send(crlf(
          `OPTIONS sip:127.0.0.1:${this.port} SIP/2.0`,
          `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bKflood${this.sent};rport`,
          'Max-Forwards: 70',
          `To: <sip:127.0.0.1:${this.port}>`,
          'From: <sip:flood@127.0.0.2>;tag=f',
          `Call-ID: flood-${this.sent}`,
          `CSeq: ${this.sent + 1} OPTIONS`,
          'Content-Length: 0',
          '',
          '',
        ), this.port, '127.0.0.1', () => resolve())));
      }
      await Promise.all(batch);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    await this.done;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

describe('a registered line beside a message flood over UDP (issue 12), default limits', { timeout: 30_000 }, () => {
  const metrics = new Metrics({ defaults: false });
  let exchange: Exchange;
  let sink: InMemoryCallDetailRecordSink;
  let at: ExchangeAddress;
  let shop: UserAgent;

  before(async () => {
    ({ exchange, sink, at, shop } = await startExchangeWithShop('message-flood', 'UDP', metrics));
  });
  after(async () => {
    await shop?.stop();
    await exchange?.stop();
  });

  it('answers the flooding source at its rate only, and the line registers and calls meanwhile', async (t) => {
    const provider = await startUserAgent('provider-message-flood', 'UDP');
    const began = performance.now();
    const flood = await MessageFlood.start(at.udpPort);
    try {
      await until(async () => (await limitedCount(metrics, 'UDP', 'rate-limited')) > 2000, 'the exchange to have dropped 2,000 of the flood\'s datagrams');
      const sentBefore = flood.sent;
      const legit = performance.now();
      await provider.register(['+15550100'], { registrar: at.udpUri, username: 'provider', password: password('provider'), expires: 120 });
      const registeredMs = Math.round(performance.now() - legit);
      shop.onInvite = (incoming) => void incoming.accept(answer);
      const call = await provider.call('+15550199', { from: '+15550100', sdp: offer });
      const answeredMs = Math.round(performance.now() - legit);
      await call.bye();
      assert.equal((await sink.next((r) => r.callId === call.callId)).outcome, 'answered');
      // The flood sends a batch every 10 ms; a fast machine registers and calls within one
      // pause. It went on throughout if it sends again after the call, not having run out.
      await until(() => flood.sent > sentBefore, 'the flood to send again after the call');
      assert.ok(flood.sent < MAX_DATAGRAMS, `the flood went on throughout: ${sentBefore} → ${flood.sent} datagrams`);
      await flood.stop();
      const elapsedSeconds = (performance.now() - began) / 1000;
      // A token bucket passes at most its burst plus its rate over the time it ran.
      const allowed = defaultSourceLimits.messageBurst + defaultSourceLimits.messagesPerSecond * elapsedSeconds;
      const limited = await limitedCount(metrics, 'UDP', 'rate-limited');
      // Datagrams still in the socket buffer, or lost from it, are neither answered nor counted: only the bound is exact.
      assert.ok(flood.answered <= allowed, `${flood.answered} answers to the flood, at most ${Math.round(allowed)} allowed`);
      assert.ok(limited > 2000);
      t.diagnostic(`registered after ${registeredMs} ms, call answered after ${answeredMs} ms; flood sent ${flood.sent}, answered ${flood.answered}, dropped unread ${limited} in ${elapsedSeconds.toFixed(1)} s`);
    } finally {
      await flood.stop();
      await provider.stop();
    }
  });
});
