import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChannelIdentity, ChannelEndpoint, type ChannelOutcome, SipTelephony } from '@sideband/channel';
import { SidebandApiError } from '@sideband/merchant-sdk';
import { createTestLogger } from '../../src/observability/logger.ts';
import { EAVESDROPPER, PROVIDER, SHOP, world, type World } from '../support/channel-world.ts';
import { shopper } from '../support/merchant-harness.ts';
import { futureExpiry } from '../support/test-cards.ts';
import { haveKamailio, kamailioMissing, startKamailio, type RunningKamailio } from '../support/kamailio.ts';

const operator = async (w: World, method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://${w.m.t.gateway.listen.operatorHttp}/v1${path}`, { method, headers: { authorization: `Bearer ${w.m.t.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function settled(w: World, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const r = await operator(w, 'GET', `/channel/exchanges/${id}`);
    if (r.body.status === 'completed' || r.body.status === 'failed') return r.body;
    await sleep(50);
  }
  throw new Error(`exchange ${id} did not end`);
}

for (const via of ['the built-in exchange', 'Kamailio'] as const) {
  describe(`the secure channel through ${via}`, { skip: via === 'Kamailio' && !haveKamailio ? kamailioMissing : false }, () => {
    let w: World;
    let kamailio: RunningKamailio | undefined;

    before(async () => {
      if (via === 'Kamailio') {
        kamailio = await startKamailio([
          { username: PROVIDER.username, password: PROVIDER.password, numbers: [PROVIDER.lineNumber, ...PROVIDER.numbers] },
          { username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] },
          { username: EAVESDROPPER.username, password: EAVESDROPPER.password, numbers: EAVESDROPPER.numbers },
        ], 'channel-kamailio');
      }
      w = await world(via === 'Kamailio' ? 'channel-kamailio' : 'channel-builtin', kamailio);
    });
    after(async () => {
      await w?.dispose();
      await kamailio?.stop();
    });

    it('fig. 4: the merchant asks for the card, the provider calls the number the merchant reserved, goods come back', async () => {
      const authorizationId = await w.authorizationId();
      const before = w.endpoint.pool.available;
      const { exchangeId, outcome } = await w.channel.requestCard(authorizationId, 1);
      const result = await outcome;
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(w.cards.at(-1)!.number, w.pan, 'the card reached the merchant\'s acquirer hook');
      const view = await settled(w, exchangeId);
      assert.deepEqual([view.status, view.firstSender, view.providerRole, view.initiator], ['completed', 'provider', 'caller', 'merchant'], JSON.stringify(view));
      const goods = await operator(w, 'GET', `/channel/exchanges/${exchangeId}/goods`);
      assert.equal(Buffer.from((goods.body.data as Array<{ data: string }>)[0]!.data, 'base64').toString(), 'an e-book');
      assert.equal(w.endpoint.pool.available, before, 'the number is back in the pool');
      const audit = await w.m.t.gateway.context.store.db.selectFrom('audit_log').select('detail').where('action', '=', 'vault.decrypt').execute();
      assert.ok(audit.some((a) => a.detail!.includes('"secure-channel"')), 'the card was opened for the channel, audited');
      if (via === 'the built-in exchange') {
        const calls = await operator(w, 'GET', '/channel/calls');
        const cdr = (calls.body.data as Array<Record<string, unknown>>).find((c) => c.caller === PROVIDER.lineNumber && c.outcome === 'answered');
        assert.ok(cdr, JSON.stringify(calls.body));
        assert.ok(SHOP.numbers.includes(cdr.dialed as string));
        assert.equal(cdr.billed, PROVIDER.lineNumber);
        assert.ok(cdr.answeredAt && cdr.endedAt);
      }
    });

    it('fig. 5: the subscriber switches "secure" on; the provider asks the merchant, which supplies a number', async () => {
      const authorizationId = await w.authorizationId();
      const started = await operator(w, 'POST', `/authorizations/${authorizationId}/secure-channel`, { goods: 1 });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const view = await settled(w, started.body.id as string);
      assert.deepEqual([view.status, view.initiator, view.providerRole], ['completed', 'provider', 'caller']);
      assert.equal(view.itemsReceived, 1);
    });

    it('the "secure" switch left on starts the channel for every approved purchase at that merchant, once or until off', async () => {
      const { address } = await shopper(w.m, `${via === 'Kamailio' ? 'k' : 'b'}-switcher`, { card: { number: w.pan, expiry: futureExpiry() } });
      const login = `${via === 'Kamailio' ? 'k' : 'b'}-switcher`;
      const put = async (mode: string) => (await fetch(`http://${w.m.t.gateway.listen.operatorHttp}/v1/subscribers/${login}/secure-channel/${w.m.merchantId}`, { method: 'PUT', headers: { authorization: `Bearer ${w.m.t.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ mode }) })).status;
      assert.equal(await put('sometimes'), 400);
      assert.equal(await put('on'), 200);
      for (let i = 0; i < 2; i++) {
        const before = w.cards.length;
        const a = await w.m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
        assert.equal(a.status, 'approved');
        for (let t = 0; t < 100 && w.cards.length === before; t++) await sleep(30);
        assert.equal(w.cards.length, before + 1, `purchase ${i + 1} sent the card over the channel`);
      }
      assert.equal(await put('off'), 200);
      const before = w.cards.length;
      await w.m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
      await sleep(500);
      assert.equal(w.cards.length, before, 'switched off: no channel');
      // "once": the next approved purchase only, then off again.
      assert.equal(await put('once'), 200);
      const a = await w.m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
      assert.equal(a.status, 'approved');
      for (let t = 0; t < 100 && w.cards.length === before; t++) await sleep(30);
      assert.equal(w.cards.length, before + 1, 'switched on once: the channel for this purchase');
      await w.m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
      await sleep(500);
      assert.equal(w.cards.length, before + 1, 'the one-off switch was used up');
    });

    it('refuses a plan that breaks the direction rule, on both sides', async () => {
      const authorizationId = await w.authorizationId();
      await assert.rejects(
        w.m.client.channel.createExchange({ authorizationId, firstSender: 'merchant', items: { provider: 0, merchant: 1 }, number: SHOP.numbers[0]!, token: 'x' }),
        (e) => (e as SidebandApiError).code === 'CHANNEL_DIRECTION_RULE',
      );
      await assert.rejects(w.m.client.channel.createExchange({ authorizationId, firstSender: 'provider', items: { provider: 1, merchant: 0 } }), (e) => (e as SidebandApiError).code === 'CHANNEL_DIRECTION_RULE');
    });

    it('refuses a wrong token, a wrong caller, an unreserved number and a certificate that is not the registered one; each number goes back', async () => {
      const provider = w.m.t.gateway.channel!.channel!;
      const providerEndpoint = provider.endpoint;
      const peer = { party: 'merchant' as const, lineNumber: SHOP.lineNumber, fingerprint: w.identity.fingerprint };
      const plan = (id: string) => ({ exchangeId: id, peer: { party: 'provider' as const, lineNumber: PROVIDER.lineNumber, fingerprint: providerEndpoint.fingerprint }, outgoing: async () => [], expectIncoming: 1 });

      // A wrong identification token on the call.
      const r1 = w.endpoint.reserve(plan('exc_wrongtoken0000000001'))!;
      const caller1 = await providerEndpoint.placeCall({ exchangeId: 'exc_wrongtoken0000000001', peer, number: r1.number, token: 'guessed', outgoing: async () => [{ kind: 'card', data: '{}' }], expectIncoming: 0 });
      const callee1 = await r1.outcome;
      assert.equal(!callee1.ok && callee1.cause, 'token-mismatch');
      assert.equal(callee1.received.length, 0, 'nothing was accepted before the token');
      assert.equal(caller1.ok, false);

      // A call to a number nobody reserved.
      const unreserved = await providerEndpoint.placeCall({ exchangeId: 'exc_unreserved000000001', peer, number: SHOP.numbers[1]!, token: 't', outgoing: async () => [], expectIncoming: 0 });
      assert.equal(!unreserved.ok && unreserved.cause, 'number-unknown');

      // An eavesdropper who learned the number calls from its own line: refused by ANI.
      const r2 = w.endpoint.reserve(plan('exc_eavesdropper00000001'))!;
      const eve = await SipTelephony.start({ host: '127.0.0.1', registrar: w.registrar, username: EAVESDROPPER.username, password: EAVESDROPPER.password, lineNumber: EAVESDROPPER.numbers[0]!, numbers: [], logger: createTestLogger('eve-sip') });
      const eveIdentity = await createChannelIdentity('eve');
      const eveEndpoint = new ChannelEndpoint({ party: 'provider', identity: eveIdentity, telephony: eve, numbers: [], mediaAddress: '127.0.0.1', ringTimeoutMs: 3000 });
      const stolen = await eveEndpoint.placeCall({ exchangeId: 'exc_eavesdropper00000001', peer, number: r2.number, token: r2.token, outgoing: async () => [{ kind: 'card', data: 'forged' }], expectIncoming: 1 });
      assert.equal(stolen.ok, false);
      assert.equal(stolen.received.length, 0, 'the eavesdropper received nothing');
      const callee2 = await r2.outcome;
      assert.equal(!callee2.ok && callee2.cause, 'caller-number-mismatch');
      await eveEndpoint.close();

      // The merchant presents a certificate other than the one registered.
      const r3 = w.endpoint.reserve(plan('exc_wrongcert0000000001'))!;
      const wrongPeer = { ...peer, fingerprint: eveIdentity.fingerprint };
      const wrongCert = await providerEndpoint.placeCall({ exchangeId: 'exc_wrongcert0000000001', peer: wrongPeer, number: r3.number, token: r3.token, outgoing: async () => [{ kind: 'card', data: '{}' }], expectIncoming: 0 });
      assert.equal(!wrongCert.ok && wrongCert.cause, 'certificate-mismatch');
      await r3.outcome;
      assert.equal(w.endpoint.pool.available, SHOP.numbers.length, 'every number went back to the pool');
    });

    it('ends a live exchange on the subscriber\'s command; the number goes back', async () => {
      const providerEndpoint = w.m.t.gateway.channel!.channel!.endpoint;
      const peer = { party: 'merchant' as const, lineNumber: SHOP.lineNumber, fingerprint: w.identity.fingerprint };
      const slow = w.endpoint.reserve({ exchangeId: 'exc_endoncommand0000001', peer: { party: 'provider', lineNumber: PROVIDER.lineNumber, fingerprint: providerEndpoint.fingerprint }, outgoing: () => new Promise((r) => setTimeout(() => r([]), 2500)), expectIncoming: 1 })!;
      const call = providerEndpoint.placeCall({ exchangeId: 'exc_endoncommand0000001', peer, number: slow.number, token: slow.token, outgoing: async () => [{ kind: 'card', data: '{}' }], expectIncoming: 1 });
      let ended = false;
      for (let i = 0; i < 100 && !ended; i++) {
        await sleep(20);
        ended = providerEndpoint.endExchange('exc_endoncommand0000001');
      }
      assert.ok(ended, 'the exchange was live and could be ended');
      const outcome = await call;
      assert.equal(!outcome.ok && outcome.cause, 'ended-on-command');
      await slow.outcome;
      assert.equal(w.endpoint.pool.available, SHOP.numbers.length);
    });

    it('a reservation nobody calls lapses, the pool runs out and comes back', async () => {
      const plan = (id: string) => ({ exchangeId: id, peer: { party: 'provider' as const, lineNumber: PROVIDER.lineNumber, fingerprint: 'sha-256 00' }, outgoing: async () => [], expectIncoming: 1 });
      const a = w.endpoint.reserve(plan('exc_lapse000000000000001'))!;
      const b = w.endpoint.reserve(plan('exc_lapse000000000000002'))!;
      assert.equal(w.endpoint.reserve(plan('exc_lapse000000000000003')), null, 'pool exhausted');
      const outcomes: ChannelOutcome[] = await Promise.all([a.outcome, b.outcome]);
      assert.deepEqual(outcomes.map((o) => !o.ok && o.cause), ['no-call', 'no-call']);
      assert.equal(w.endpoint.pool.available, SHOP.numbers.length);
    });

    it('tells the subscriber when the channel failed, and takes their choice', async () => {
      const authorizationId = await w.authorizationId();
      const reserved = w.endpoint.reserve({ exchangeId: 'exc_failedchannel000001', peer: { party: 'provider', lineNumber: PROVIDER.lineNumber, fingerprint: 'sha-256 00' }, outgoing: async () => [], expectIncoming: 1 })!;
      w.endpoint.pool.release(reserved.number); // the number is gone: the provider's call will fail
      const created = await w.m.client.channel.createExchange({ exchangeId: 'exc_failedchannel000001', authorizationId, firstSender: 'provider', items: { provider: 1, merchant: 0 }, number: reserved.number, token: reserved.token });
      const view = await settled(w, created.id);
      assert.equal(view.status, 'failed');
      assert.equal(view.active, false);
      const early = await operator(w, 'POST', `/channel/exchanges/${created.id}/fallback`, { choice: 'sideways' });
      assert.equal(early.status, 400);
      const chosen = await operator(w, 'POST', `/channel/exchanges/${created.id}/fallback`, { choice: 'abort' });
      assert.equal(chosen.body.fallback, 'abort');
    });
  });
}
