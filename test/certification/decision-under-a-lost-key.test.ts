import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IDEMPOTENCY_LEASE_MS, IdempotencyKeys } from '../../src/certification/api/idempotency.ts';
import type { MerchantRow } from '../../src/certification/authorization/authorization-service.ts';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';

// A purchase's decision while its Idempotency-Key changes hands. On PostgreSQL a
// provider-bill purchase is decided by one statement that commits on its own
// (decision-statement.ts): a key a retry took over must still leave nothing written, as the
// transaction it replaced did by rolling back.

for (const dialect of dialects) {
  describe(`a purchase's decision under a key that changed hands on ${dialect}`, () => {
    let m: MerchantSetup;
    let merchant: MerchantRow;
    let keys: IdempotencyKeys;
    before(async () => {
      m = await merchantSetup(dialect, `lost-key-${dialect}`, { settlement: 'provider_bill' });
      const db = m.t.gateway.context.store.db;
      merchant = await db.selectFrom('merchants').select(['id', 'status', 'settlement_preference', 'pseudonym_salt']).where('id', '=', m.merchantId).executeTakeFirstOrThrow();
      keys = new IdempotencyKeys(m.t.gateway.context.store);
    });
    after(async () => m?.dispose());

    const claimAt = async (key: string, at: number) => {
      const started = await keys.begin(merchant.id, key, IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from(key)), at);
      assert.equal(started.kind, 'new');
      return (started as Extract<typeof started, { kind: 'new' }>).claim;
    };

    it('the holder whose lease ended writes nothing and is told the key is in progress; the heir decides once', async () => {
      const { address, subscriberId } = await shopper(m, `lost-key-${dialect}`, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
      const db = m.t.gateway.context.store.db;
      const service = m.t.gateway.certification.authorizations;
      const now = Date.now();
      const dead = await claimAt('k-taken-over', now - IDEMPOTENCY_LEASE_MS - 1_000);
      const heir = await claimAt('k-taken-over', now);
      const input = { customer: { address }, amount: 2_500, currency: 'EUR', capture: 'manual' as const };

      await assert.rejects(service.create(merchant, input, dead), { code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
      const untouched = await db.selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(Number(untouched.amount_used), 0, 'no hold was taken');
      assert.deepEqual(await db.selectFrom('authorizations').select('id').where('subscriber_id', '=', subscriberId).execute(), [], 'no authorization was recorded');
      assert.deepEqual(await db.selectFrom('ledger_entries').select('id').where('account', 'like', `subscriber:${subscriberId}:%`).execute(), [], 'no ledger entry was written');

      const approved = await service.create(merchant, input, heir);
      assert.equal(approved.status, 'approved');
      const held = await db.selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(Number(held.amount_used), 2_500);
      const replay = await keys.begin(merchant.id, 'k-taken-over', IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('k-taken-over')));
      assert.equal(replay.kind, 'replay');
      assert.equal((JSON.parse((replay as { body: string }).body) as { id: string }).id, approved.id, 'the heir stored its answer under the key');
      const entries = await db.selectFrom('ledger_entries').select(['account', 'amount']).where('authorization_id', '=', approved.id).orderBy('amount').execute();
      assert.deepEqual(entries.map((e) => [e.account, Number(e.amount)]), [[`subscriber:${subscriberId}:available`, -2_500], [`subscriber:${subscriberId}:held`, 2_500]]);
    });

    it('a hold the limit refuses takes nothing and records the decline under the key', async () => {
      const { address, subscriberId } = await shopper(m, `over-limit-${dialect}`, { spendingLimit: 1_000, autoApproveLimit: 1_000_000 });
      const db = m.t.gateway.context.store.db;
      const claim = await claimAt('k-over-limit', Date.now());
      const declined = await m.t.gateway.certification.authorizations.create(merchant, { customer: { address }, amount: 1_001, currency: 'EUR', capture: 'manual' }, claim);
      assert.deepEqual([declined.status, declined.reason], ['declined', 'SPENDING_LIMIT_EXCEEDED']);
      const sub = await db.selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow();
      assert.equal(Number(sub.amount_used), 0);
      assert.deepEqual(await db.selectFrom('ledger_entries').select('id').where('authorization_id', '=', declined.id).execute(), []);
      const replay = await keys.begin(merchant.id, 'k-over-limit', IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('k-over-limit')));
      assert.equal((JSON.parse((replay as { body: string }).body) as { status: string }).status, 'declined');
    });
  });
}
