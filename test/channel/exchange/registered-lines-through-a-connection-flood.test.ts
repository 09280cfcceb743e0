import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Exchange, ExchangeAddress } from '../../../src/channel/exchange/exchange.ts';
import type { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import type { UserAgent } from '@sideband/sip/user-agent';
import { Metrics } from '../../../src/observability/metrics.ts';
import { haveSipp, runSipp } from '../../support/sipp.ts';
import { crlf } from '../sip/messages.ts';
import { ConnectionFlood, exchangeConnections, limitedCount, until } from './connection-flood.ts';
import { answer, linePassword, offer, startExchange, startExchangeWithShop, startUserAgent } from './exchange-harness.ts';
import { registerContactElsewhere } from './sipp-scenarios.ts';

const password = linePassword;
const loopback = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `127.0.0.${from + i}`);

// A bound on the flood's work; stop() ends it long before.
const MAX_ATTEMPTS = 1_000_000;

/**
 * Registers the provider's line over TCP from a fresh user agent, calls the shop and hangs
 * up, while the flood goes on; how long each step waited.
 */
async function registerAndCall(name: string, at: ExchangeAddress, shop: UserAgent, sink: InMemoryCallDetailRecordSink, flood: ConnectionFlood) {
  const provider = await startUserAgent(name, 'TCP');
  try {
    const attemptsBefore = flood.attempts;
    const began = performance.now();
    await provider.register(['+15550100'], { registrar: at.tcpUri, username: 'provider', password: password('provider'), expires: 120 });
    const registeredMs = performance.now() - began;
    shop.onInvite = (incoming) => void incoming.accept(answer);
    const call = await provider.call('+15550199', { from: '+15550100', sdp: offer });
    const answeredMs = performance.now() - began;
    await call.bye();
    assert.equal((await sink.next((r) => r.callId === call.callId)).outcome, 'answered');
    assert.ok(flood.attempts > attemptsBefore && flood.attempts < MAX_ATTEMPTS, `the flood went on throughout: ${attemptsBefore} → ${flood.attempts} connections`);
    return { registeredMs: Math.round(registeredMs), answeredMs: Math.round(answeredMs) };
  } finally {
    await provider.stop();
  }
}

describe('a registered line through a flood of idle TCP connections (issue 12), default limits', { timeout: 60_000 }, () => {
  const metrics = new Metrics({ defaults: false });
  let exchange: Exchange;
  let sink: InMemoryCallDetailRecordSink;
  let at: ExchangeAddress;
  let shop: UserAgent;

  before(async () => {
    ({ exchange, sink, at, shop } = await startExchangeWithShop('connection-flood', 'TCP', metrics));
  });
  after(async () => {
    await shop?.stop();
    await exchange?.stop();
  });

  it('holds 32 of 1,100 idle connections from one source, and the line registers and calls while the flood goes on', async (t) => {
    const flood = new ConnectionFlood({ host: '127.0.0.1', port: at.tcpPort, sources: ['127.0.0.2'], perSource: 1100, maxAttempts: MAX_ATTEMPTS });
    try {
      await flood.started();
      await until(async () => (await exchangeConnections(metrics)).unauthenticated === 32 && (await limitedCount(metrics, 'TCP', 'connection-source-limit')) >= 1100 - 32, 'the source to hold its 32 connections');
      const waited = await registerAndCall('provider-connection-flood', at, shop, sink, flood);
      // sipp, a SIP peer Sideband did not write, registers over TCP through the same flood.
      if (haveSipp) {
        const run = await runSipp({ scenario: registerContactElsewhere, remote: `127.0.0.1:${at.tcpPort}`, transport: 'tcp', auth: { username: 'mallory', password: password('mallory') }, keys: { caller: '+15550166', contact_port: '5999' } });
        assert.equal(run.exitCode, 0, run.output);
      }
      assert.ok((await exchangeConnections(metrics)).unauthenticated <= 32);
      t.diagnostic(`registered after ${waited.registeredMs} ms, call answered after ${waited.answeredMs} ms${haveSipp ? ', sipp registered over TCP too' : ''}; flood attempts ${flood.attempts}, refused ${await limitedCount(metrics, 'TCP', 'connection-source-limit')}`);
    } finally {
      await flood.stop();
    }
  });

  it('lets 39 sources fill only the unauthenticated share: a newcomer evicts the largest holder, the line gets in', async (t) => {
    const evictedBefore = await limitedCount(metrics, 'TCP', 'connection-evicted');
    const flood = new ConnectionFlood({ host: '127.0.0.1', port: at.tcpPort, sources: loopback(2, 40), perSource: 32, maxAttempts: MAX_ATTEMPTS });
    try {
      await flood.started();
      // 39 × 32 = 1,248 connections for a share of 1,024 - 256 = 768.
      await until(async () => (await exchangeConnections(metrics)).unauthenticated === 768 && (await limitedCount(metrics, 'TCP', 'connection-evicted')) > evictedBefore, 'the unauthenticated share to fill');
      const waited = await registerAndCall('provider-many-sources', at, shop, sink, flood);
      const after = await exchangeConnections(metrics);
      assert.ok(after.unauthenticated <= 768 && after.open <= 1024, JSON.stringify(after));
      t.diagnostic(`registered after ${waited.registeredMs} ms, call answered after ${waited.answeredMs} ms; evicted ${(await limitedCount(metrics, 'TCP', 'connection-evicted')) - evictedBefore}`);
    } finally {
      await flood.stop();
    }
  });
});

describe('deadlines for TCP connections that do not authenticate', { timeout: 20_000 }, () => {
  const metrics = new Metrics({ defaults: false });
  let exchange: Exchange;
  let at: ExchangeAddress;
  let provider: UserAgent;

  before(async () => {
    ({ exchange, at } = await startExchange('exchange-deadlines', metrics, { limits: { firstRequestTimeoutSeconds: 0.5, authenticationTimeoutSeconds: 1.5 } }));
    provider = await startUserAgent('provider-deadlines', 'TCP');
  });
  after(async () => {
    await provider?.stop();
    await exchange?.stop();
  });

  const open = (source: string) => new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: at.tcpPort, localAddress: source });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
  const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

  it('closes a silent connection at firstRequestTimeout, one that never authenticates at authenticationTimeout, and keeps the line\'s', async () => {
    await provider.register(['+15550100'], { registrar: at.tcpUri, username: 'provider', password: password('provider'), expires: 120 });
    const silent = await open('127.0.0.3');
    const chatty = await open('127.0.0.4');
    let answers = '';
    chatty.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1')));
    chatty.write(crlf(
      `OPTIONS sip:127.0.0.1:${at.tcpPort} SIP/2.0`,
      `Via: SIP/2.0/TCP 127.0.0.4:${chatty.localPort};branch=z9hG4bKdeadline1`,
      'Max-Forwards: 70',
      `To: <sip:127.0.0.1:${at.tcpPort}>`,
      'From: <sip:probe@127.0.0.4>;tag=p1',
      'Call-ID: deadline-probe',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ));
    await closed(silent);
    await closed(chatty);
    assert.match(answers, /^SIP\/2\.0 200 OK\r\n/, 'the OPTIONS was answered before the deadline closed the connection');
    assert.equal(await limitedCount(metrics, 'TCP', 'first-request-timeout'), 1);
    assert.equal(await limitedCount(metrics, 'TCP', 'authentication-timeout'), 1);
    // The line's connection opened before both and is past both deadlines, yet still open.
    assert.deepEqual(await exchangeConnections(metrics), { open: 1, unauthenticated: 0 });
  });
});
