import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Exchange, ExchangeAddress } from '../../../src/channel/exchange/exchange.ts';
import type { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import { SipFailure, type UserAgent } from '@sideband/sip/user-agent';
import { freeUdpPort, haveSipp, runSipp, sippMissing, startSipp } from '../../support/sipp.ts';
import { lines, offer, startExchange, startUserAgent } from './exchange-harness.ts';
import { answerBusy, callUnknownNumber, registerContactElsewhere } from './sipp-scenarios.ts';

const line = (username: string) => lines.find((l) => l.username === username)!;

describe('refusals with sipp as the peer', { skip: haveSipp ? false : sippMissing, timeout: 30_000 }, () => {
  let exchange: Exchange;
  let sink: InMemoryCallDetailRecordSink;
  let at: ExchangeAddress;
  let provider: UserAgent;

  before(async () => {
    ({ exchange, sink, at } = await startExchange('exchange-sipp'));
    provider = await startUserAgent('provider-sipp', 'UDP');
    await provider.register(['+15550100'], { registrar: at.udpUri, username: 'provider', password: line('provider').password });
  });
  after(async () => {
    await provider?.stop();
    await exchange?.stop();
  });

  it('sipp calls a number nobody registered, answers the 407, and gets 404', async () => {
    const run = await runSipp({
      scenario: callUnknownNumber,
      remote: `127.0.0.1:${at.udpPort}`,
      auth: { username: 'mallory', password: line('mallory').password, uri: `+15550123@127.0.0.1:${at.udpPort}` },
      keys: { caller: '+15550166', called: '+15550123' },
    });
    assert.equal(run.exitCode, 0, run.output);
    const record = await sink.next((r) => r.calledNumber === '+15550123');
    assert.equal(record.outcome, 'not-found');
    assert.equal(record.callerLine, 'mallory');
  });

  it('routes a call to sipp, which answers 486: the caller gets SIP_BUSY', async () => {
    const port = await freeUdpPort();
    const uas = await startSipp({ scenario: answerBusy, localPort: port });
    try {
      const registered = await runSipp({
        scenario: registerContactElsewhere,
        remote: `127.0.0.1:${at.udpPort}`,
        auth: { username: 'shop', password: line('shop').password },
        keys: { caller: '+15550199', contact_port: String(port) },
      });
      assert.equal(registered.exitCode, 0, registered.output);
      assert.ok(exchange.registrations().some((b) => b.number === '+15550199' && b.contact.endsWith(`:${port}`)));

      await assert.rejects(provider.call('+15550199', { from: '+15550100', sdp: offer }), (e: SipFailure) => e instanceof SipFailure && e.code === 'SIP_BUSY' && e.status === 486);
      const run = await uas.done;
      assert.equal(run.exitCode, 0, run.output);
      assert.equal((await sink.next((r) => r.calledNumber === '+15550199')).outcome, 'busy');
    } finally {
      await uas.stop();
    }
  });
});
