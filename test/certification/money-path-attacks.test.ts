import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SidebandApiError, type Authorization } from '@sideband/merchant-sdk';
import type { SidebandError } from '../../src/errors/sideband-error.ts';
import { dialects } from '../support/databases.ts';
import { FaultyAcquirer } from '../support/faulty-acquirer.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

const card = (i: number, creditLimit?: number) => ({ number: testCardNumber(i), expiry: futureExpiry(), ...(creditLimit !== undefined ? { creditLimit } : {}) });

/** The error an SDK call ended with, or the object it returned. */
async function outcome<T>(call: Promise<T>): Promise<T | SidebandApiError> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof SidebandApiError) return e;
    throw e;
  }
}

for (const dialect of dialects) {
  describe(`money paths under attack on ${dialect}`, () => {
    let m: MerchantSetup;
    const acquirer = new FaultyAcquirer();
    const db = () => m.t.gateway.context.store.db;
    const lifecycle = () => m.t.gateway.certification.authorizations.lifecycle;

    before(async () => {
      m = await merchantSetup(dialect, `attacks-${dialect}`, { acquirer, config: { merchantApi: { presenceGraceSeconds: 0, observedMaxAgeSeconds: 30 } } });
    });
    after(async () => m?.dispose());

    it('a create whose acquirer reply was lost answers 503; the retry with the same key resumes it: one authorization, one charge, one hold', async () => {
      const { address, subscriberId } = await shopper(m, 'retry-after-fault', { card: card(1) });
      const key = randomUUID();
      const params = { customer: { address }, amount: 2_000, currency: 'EUR', capture: 'automatic' as const };
      acquirer.failNext('authorize', 'after');
      const first = await outcome(m.client.authorizations.create(params, { idempotencyKey: key }));
      assert.ok(first instanceof SidebandApiError && first.status === 503 && first.code === 'ACQUIRER_UNAVAILABLE', `first: ${JSON.stringify(first)}`);
      const processing = await db().selectFrom('authorizations').selectAll().where('idempotency_key', '=', key).execute();
      assert.deepEqual(processing.map((r) => r.status), ['processing'], 'held, waiting for the acquirer');
      const second = await m.client.authorizations.create(params, { idempotencyKey: key });
      assert.equal(second.status, 'captured');
      assert.equal(second.id, processing[0]!.id);
      const third = await m.client.authorizations.create(params, { idempotencyKey: key });
      assert.deepEqual(third, second, 'a replay is the original answer');
      assert.equal((await db().selectFrom('authorizations').select('id').where('subscriber_id', '=', subscriberId).execute()).length, 1);
      assert.equal(acquirer.effectsOf('authorize').filter((e) => e.idempotencyKey === second.id).length, 1);
      const sub = await db().selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(sub.amount_used, 2_000, 'held once');
    });

    it('an acquirer that stays down leaves the purchase processing; the recovery sweep finishes it once the acquirer is back', async () => {
      const { address } = await shopper(m, 'acquirer-down', { card: card(2) });
      acquirer.down = 'before';
      const key = randomUUID();
      const first = await outcome(m.client.authorizations.create({ customer: { address }, amount: 1_500, currency: 'EUR' }, { idempotencyKey: key }));
      assert.ok(first instanceof SidebandApiError && first.code === 'ACQUIRER_UNAVAILABLE');
      acquirer.down = null;
      const later = Date.now() + 31_000;
      assert.equal(await lifecycle().recoverProcessing(later), 1);
      const row = await db().selectFrom('authorizations').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
      assert.equal(row.status, 'approved');
      const replay = await m.client.authorizations.create({ customer: { address }, amount: 1_500, currency: 'EUR' }, { idempotencyKey: key });
      assert.equal(replay.id, row.id, 'the key answers with what the sweep finished');
      assert.equal(replay.status, 'approved');
    });

    it('a purchase confirmed long after it was made has the whole give-up time from its confirmation before it is declined', async () => {
      const { address } = await shopper(m, 'late-confirmation', { card: card(10), autoApproveLimit: null });
      const created = await m.client.authorizations.create({ customer: { address }, amount: 900, currency: 'EUR' }, { idempotencyKey: randomUUID() });
      assert.equal(created.status, 'pending');
      const status = async () => (await db().selectFrom('authorizations').select(['status', 'reason']).where('id', '=', created.id).executeTakeFirstOrThrow());
      // Confirmed a quarter of an hour later, when the acquirer does not answer.
      const confirmedAt = Date.now() + 15 * 60_000;
      acquirer.down = 'before';
      try {
        await assert.rejects(lifecycle().approveBySubscriber(created.id, confirmedAt), (e: SidebandError) => e.code === 'ACQUIRER_UNAVAILABLE');
        await lifecycle().recoverProcessing(confirmedAt + 31_000);
        assert.deepEqual(await status(), { status: 'processing', reason: null }, 'half a minute in processing is not ten minutes');
        await lifecycle().recoverProcessing(confirmedAt + 10 * 60_000 + 31_000);
        assert.deepEqual(await status(), { status: 'declined', reason: 'ACQUIRER_UNAVAILABLE' });
      } finally {
        acquirer.down = null;
      }
    });

    it('two concurrent requests with one key make one authorization', async () => {
      const { address, subscriberId } = await shopper(m, 'twins', { card: card(3) });
      const key = randomUUID();
      const params = { customer: { address }, amount: 700, currency: 'EUR' };
      const results = await Promise.all(Array.from({ length: 8 }, () => outcome(m.client.authorizations.create(params, { idempotencyKey: key }))));
      const ok = results.filter((r): r is Authorization => !(r instanceof SidebandApiError));
      assert.ok(ok.length >= 1);
      assert.ok(ok.every((r) => r.id === ok[0]!.id));
      assert.ok(results.every((r) => !(r instanceof SidebandApiError) || r.code === 'IDEMPOTENCY_KEY_IN_PROGRESS'));
      assert.equal((await db().selectFrom('authorizations').select('id').where('subscriber_id', '=', subscriberId).execute()).length, 1);
    });

    it('20 concurrent card purchases of 1,000 against a credit limit of 5,000 approve exactly 5', async () => {
      const { address, subscriberId } = await shopper(m, 'credit-limit', { spendingLimit: 1_000_000, autoApproveLimit: 1_000_000, card: card(4, 5_000) });
      const results = await Promise.all(Array.from({ length: 20 }, () => m.client.authorizations.create({ customer: { address }, amount: 1_000, currency: 'EUR' })));
      assert.equal(results.filter((r) => r.status === 'approved').length, 5);
      assert.ok(results.filter((r) => r.status !== 'approved').every((r) => r.status === 'declined' && r.reason === 'CREDIT_LIMIT_EXCEEDED'));
      const c = await db().selectFrom('cards').select('credit_used').where('subscriber_id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(c.credit_used, 5_000);
      const s = await db().selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(s.amount_used, 5_000, 'a refused credit reservation takes no spending either');
      // A void gives the credit back; the next purchase fits again.
      await m.client.authorizations.void(results.find((r) => r.status === 'approved')!.id);
      assert.equal((await m.client.authorizations.create({ customer: { address }, amount: 1_000, currency: 'EUR' })).status, 'approved');
    });

    it('a purchase in another currency than the spending limit is declined, whatever the settlement', async () => {
      const { address } = await shopper(m, 'currency', { card: card(5) });
      for (const settlement of ['card', 'provider_bill'] as const) {
        const a = await m.client.authorizations.create({ customer: { address }, amount: 100_000, currency: 'GBP', settlement });
        assert.deepEqual([a.status, a.reason], ['declined', 'CURRENCY_MISMATCH'], settlement);
      }
      assert.equal(acquirer.calls.filter((c) => c.op === 'authorize' && c.amount === 100_000).length, 0, 'the acquirer was never asked');
    });

    it('a customer who is not there: an old observedAt, or a session that ended, is declined CUSTOMER_NOT_PRESENT', async () => {
      // Sessions here began a minute ago; observedMaxAgeSeconds is 30 and presenceGraceSeconds 0.
      const { address } = await shopper(m, 'presence', { card: card(6) });
      const stale = await m.client.authorizations.create({ customer: { address, observedAt: new Date(Date.now() - 45_000).toISOString() }, amount: 100, currency: 'EUR' });
      assert.deepEqual([stale.status, stale.reason], ['declined', 'CUSTOMER_NOT_PRESENT']);
      // A genuine purchase while the customer is online…
      const observedAt = new Date(Date.now() - 20_000).toISOString();
      const genuine = await m.client.authorizations.create({ customer: { address, observedAt }, amount: 100, currency: 'EUR' });
      assert.equal(genuine.status, 'approved');
      // …replayed by the merchant after the customer went offline.
      await m.t.gateway.authentication.sessions.closeAllOf(m.nasId, 'User-Request', Date.now() - 10_000);
      const replayed = await m.client.authorizations.create({ customer: { address, observedAt }, amount: 100, currency: 'EUR' });
      assert.deepEqual([replayed.status, replayed.reason], ['declined', 'CUSTOMER_NOT_PRESENT']);
    });

    it('a NUL in a path id or query value is a 4xx, never a 500; a refused body is not the key\'s answer', async () => {
      const calls = [() => m.client.authorizations.retrieve('auth_\u0000x'), () => m.client.authorizations.capture('auth_\u0000x'), () => m.client.captures.retrieve('evt_\u0000'), () => m.client.authorizations.list({ status: 'approved\u0000' }), () => m.client.authorizations.list({ startingAfter: 'auth\u0000' })];
      for (const call of calls) {
        const r = await outcome<unknown>(call());
        assert.ok(r instanceof SidebandApiError && r.status >= 400 && r.status < 500, `got ${JSON.stringify(r)}`);
      }
      const { address } = await shopper(m, 'corrected-body', { card: card(8) });
      const key = randomUUID();
      const bad = await outcome(m.client.authorizations.create({ customer: { address }, amount: 100, currency: 'EUR', description: 'a\u0000b' }, { idempotencyKey: key }));
      assert.ok(bad instanceof SidebandApiError && bad.code === 'FIELD_INVALID');
      const good = await m.client.authorizations.create({ customer: { address }, amount: 100, currency: 'EUR', description: 'ab' }, { idempotencyKey: key });
      assert.equal(good.status, 'approved', 'the corrected request runs under the same key');
    });

    it('a key whose stored answer was purged after 24 hours never makes a second authorization, nor a 500', async () => {
      const { address, subscriberId } = await shopper(m, 'purged-key', { card: card(9) });
      const key = randomUUID();
      const params = { customer: { address }, amount: 300, currency: 'EUR' };
      assert.equal((await m.client.authorizations.create(params, { idempotencyKey: key })).status, 'approved');
      await db().deleteFrom('idempotency_keys').where('key', '=', key).execute();
      const again = await outcome(m.client.authorizations.create(params, { idempotencyKey: key }));
      assert.ok(again instanceof SidebandApiError && again.code === 'IDEMPOTENCY_KEY_REUSED', `got ${JSON.stringify(again)}`);
      assert.equal((await db().selectFrom('authorizations').select('id').where('subscriber_id', '=', subscriberId).execute()).length, 1);
    });

    it('a capture whose acquirer call fails is recorded once and reaches the acquirer once, by the outbox', async () => {
      const { address } = await shopper(m, 'capture-outbox', { card: card(7) });
      const a = await m.client.authorizations.create({ customer: { address }, amount: 900, currency: 'EUR' });
      assert.equal(a.status, 'approved');
      acquirer.failNext('capture', 'after');
      const key = randomUUID();
      const cap = await m.client.authorizations.capture(a.id, { amount: 400 }, { idempotencyKey: key });
      assert.equal(cap.amount, 400, 'the capture is the merchant\'s once committed; the acquirer step follows');
      assert.deepEqual(await m.client.authorizations.capture(a.id, { amount: 400 }, { idempotencyKey: key }), cap, 'a retry replays it');
      // Drain until the instruction is done (the first attempt failed; the retry is due later).
      for (let i = 0; i < 20; i++) {
        const pending = await db().selectFrom('acquirer_instructions').select(['id', 'status']).where('authorization_id', '=', a.id).where('status', '!=', 'done').execute();
        if (pending.length === 0) break;
        await lifecycle().outbox.drain(Date.now() + 60_000 * (i + 1));
      }
      const instructions = await db().selectFrom('acquirer_instructions').selectAll().where('authorization_id', '=', a.id).execute();
      assert.deepEqual(instructions.map((i) => [i.operation, i.status, i.amount]), [['capture', 'done', 400]]);
      assert.equal(acquirer.effectsOf('capture').filter((e) => e.idempotencyKey === instructions[0]!.id).length, 1);
      const after = await m.client.authorizations.retrieve(a.id);
      assert.equal(after.capturedAmount, 400, 'captured once');
    });
  });
}
