import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Authorization } from '@sideband/merchant-sdk';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';

for (const dialect of dialects) {
  describe(`200 concurrent authorizations against one spending limit on ${dialect}`, () => {
    let m: MerchantSetup;
    let address: string;

    before(async () => {
      m = await merchantSetup(dialect, `concurrency-${dialect}`, { settlement: 'provider_bill' });
      // 37 purchases of 1,000 fit in 37,500; the other 163 must be declined.
      address = (await shopper(m, 'lena', { spendingLimit: 37_500, autoApproveLimit: 100_000 })).address;
    });
    after(async () => m?.dispose());

    it('approves exactly as many as fit, never more', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => m.client.authorizations.create({ customer: { address }, amount: 1_000, currency: 'EUR', merchantReference: `c-${i}` })));
      const by = (s: Authorization['status']) => results.filter((r) => r.status === s).length;
      assert.equal(by('approved'), 37);
      assert.equal(by('declined'), 163);
      assert.ok(results.filter((r) => r.status === 'declined').every((r) => r.reason === 'SPENDING_LIMIT_EXCEEDED'));
      const sub = await m.t.gateway.context.store.db.selectFrom('subscribers').select(['amount_used', 'spending_limit']).where('login', '=', 'lena').executeTakeFirstOrThrow();
      assert.equal(sub.amount_used, 37_000);
      const held = await m.t.gateway.context.store.db.selectFrom('ledger_entries').select((eb) => eb.fn.sum<number>('amount').as('s')).where('account', 'like', '%:held').executeTakeFirstOrThrow();
      assert.equal(Number(held.s), 37_000, 'the ledger holds exactly what was approved');
    });
  });
}
