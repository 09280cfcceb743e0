import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { verifyWebhook } from '@sideband/merchant-sdk';
import { dialects } from '../support/databases.ts';
import { merchantSetup, type MerchantSetup } from '../support/merchant-harness.ts';
import { haveRadclient, radclient } from '../support/radclient.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

for (const dialect of dialects) {
  describe(`a purchase from log-in to refund, as the merchant sees it, on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing' }, () => {
    let m: MerchantSetup;
    const pan = testCardNumber(21);
    const licence = 'DL-JUNO-TEST';

    before(async () => {
      m = await merchantSetup(dialect, `e2e-${dialect}`);
      const ctx = m.t.gateway.context;
      const sub = await ctx.subscribers.add({ login: 'juno', password: 'juno-password', spendingLimit: 20_000, autoApproveLimit: 10_000 });
      await ctx.subscribers.addCard(sub.id, { number: pan, expiry: futureExpiry(), holderName: 'Juno Example', creditLimit: 50_000, licenceNumber: licence });
    });
    after(async () => m?.dispose());

    it('logs in through radclient, visits the shop, is authorized, captured and refunded; the ledger balances; the merchant never learns the card or who the customer is', async () => {
      // 1. The NAS logs the subscriber in and gets an address for the session.
      const run = await radclient(m.t.gateway.listen.radiusAuth!, 'auth', 'merchant-test-secret', ['User-Name = juno, User-Password = "juno-password", Message-Authenticator = 0x00, NAS-Port = 4']);
      assert.equal(run.replies[0]?.code, 'Access-Accept', run.output);
      const address = run.replies[0]!.attributes['Framed-IP-Address']!;
      for (let i = 0; i < 100 && m.t.gateway.authentication.sessions.holderOf(address) === undefined; i++) await setImmediate();
      assert.ok(m.t.gateway.authentication.sessions.holderOf(address), 'the session holds its address');
      // 2. The access network reports the subscriber visiting the shop's network.
      const pushed = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/destinations`, {
        method: 'POST', headers: { authorization: `Bearer ${m.t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ observations: [{ source: { address, port: 51000 }, destination: '203.0.113.80' }] }),
      });
      assert.equal(pushed.status, 202);

      // 3. The shop's server asks for the purchase by the address it sees.
      const auth = await m.client.authorizations.create({ customer: { address, port: 51000 }, amount: 4_200, currency: 'EUR', description: 'A book', merchantReference: 'order-1' });
      assert.equal(auth.status, 'approved', JSON.stringify(auth));
      assert.match(auth.customer.id, /^cus_/);
      const again = await m.client.authorizations.retrieve(auth.id);
      assert.equal(again.customer.id, auth.customer.id);

      const first = await m.client.authorizations.capture(auth.id, { amount: 3_000 });
      assert.equal(first.amount, 3_000);
      const second = await m.client.authorizations.capture(auth.id);
      assert.equal(second.amount, 1_200);
      assert.equal((await m.client.authorizations.retrieve(auth.id)).status, 'captured');
      const refund = await m.client.authorizations.refund(auth.id, { amount: 1_000, reason: 'damaged' });
      assert.equal(refund.object, 'refund');
      assert.equal((await m.client.refunds.retrieve(refund.id)).amount, 1_000);
      assert.equal((await m.client.captures.retrieve(first.id)).amount, 3_000);
      const final = await m.client.authorizations.retrieve(auth.id);
      assert.deepEqual([final.capturedAmount, final.refundedAmount], [4_200, 1_000]);
      const list = await m.client.authorizations.list({ limit: 10 });
      assert.deepEqual(list.data.map((a) => a.id), [auth.id]);

      // 4. The ledger balances, per transaction and in all.
      const db = m.t.gateway.context.store.db;
      const byTxn = await db.selectFrom('ledger_entries').select(['transaction_id', (eb) => eb.fn.sum<number>('amount').as('sum')]).groupBy('transaction_id').execute();
      assert.ok(byTxn.length >= 4);
      assert.ok(byTxn.every((t) => Number(t.sum) === 0), 'every ledger transaction sums to zero');
      const spent = await db.selectFrom('subscribers').select('amount_used').where('login', '=', 'juno').executeTakeFirstOrThrow();
      assert.equal(spent.amount_used, 3_200, 'captured minus refunded counts against the limit');

      // 5. Webhooks arrive signed, one per state change.
      // The gateway's dispatcher ticks on its own too; deliver until all four arrived, a bounded number of times.
      for (let i = 0; i < 50 && m.received.webhooks.length < 4; i++) await m.t.gateway.certification.deliverWebhooks();
      const keys = await m.client.webhookKeys();
      // Deliveries of one tick go out together and may arrive in any order: put them in the order of their events.
      const events = m.received.webhooks.map((w) => verifyWebhook({ body: w.body, signature: w.headers['sideband-signature'], keys })).sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
      assert.deepEqual(events.map((e) => e.type), ['authorization.approved', 'authorization.captured', 'authorization.captured', 'authorization.refunded']);

      // 6. Every byte the merchant received: no card number, no licence, no login, no subscriber or session id.
      const sub = await db.selectFrom('subscribers').select('id').where('login', '=', 'juno').executeTakeFirstOrThrow();
      const session = await db.selectFrom('sessions').select('id').where('login', '=', 'juno').executeTakeFirstOrThrow();
      const everything = [...m.received.responses, ...m.received.webhooks.map((w) => JSON.stringify(w))].join('\n');
      assert.ok(everything.length > 1000);
      for (const secret of [pan, pan.slice(0, 6) + pan.slice(-4), licence, 'juno', 'Juno Example', sub.id, session.id]) {
        assert.ok(!everything.includes(secret), `the merchant received something it must not (${secret === pan ? 'the card number' : secret.slice(0, 4) + '…'})`);
      }

      // 7. The card left the vault only toward the acquirer, and that was audited.
      const audits = await db.selectFrom('audit_log').select(['detail']).where('action', '=', 'vault.decrypt').execute();
      assert.ok(audits.some((a) => a.detail!.includes('settlement-acquirer')));
    });
  });
}
