import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { compactDecrypt } from 'jose';
import { verifyWebhook, WebhookVerificationError } from '@sideband/merchant-sdk';
import { backoffMs } from '../../src/certification/webhooks/webhook-dispatcher.ts';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, webhookReceiver, type MerchantSetup, type Received } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

for (const dialect of dialects) {
  describe(`settlement by provider bill, by merchant bill, and webhook delivery on ${dialect}`, () => {
    let m: MerchantSetup;

    before(async () => {
      m = await merchantSetup(dialect, `settlement-${dialect}`, { settlement: 'provider_bill' });
    });
    after(async () => m?.dispose());

    const operator = async (path: string) => (await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1${path}`, { headers: { authorization: `Bearer ${m.t.token}` } })).json();

    it('provider_bill puts a line on the subscriber\'s statement and the merchant\'s settlement report', async () => {
      const { address } = await shopper(m, 'nora');
      const a = await m.client.authorizations.create({ customer: { address }, amount: 1_250, currency: 'EUR', description: 'Music', capture: 'automatic' });
      assert.equal(a.status, 'captured');
      const statement = (await operator('/subscribers/nora/statement')) as { total: number; lines: Array<{ amount: number; description: string }> };
      assert.equal(statement.total, 1_250);
      assert.equal(statement.lines[0]!.description, 'Music');
      await m.client.authorizations.refund(a.id, { amount: 250 });
      const report = (await operator(`/merchants/${m.merchantId}/settlement-report`)) as { owed: Array<{ settlement: string; amount: number }> };
      assert.deepEqual(report.owed.map((o) => [o.settlement, o.amount]), [['provider_bill', 1_000]]);
      const balance = (await operator('/ledger/balance')) as { data: Array<{ sum: number }> };
      assert.ok(balance.data.every((b) => b.sum === 0), 'the whole ledger balances');
    });

    it('merchant_bill releases billing details only as a JWE to the merchant\'s key, and only with the subscriber\'s consent', async () => {
      const ctx = m.t.gateway.context;
      const pan = testCardNumber(40);
      const { address } = await shopper(m, 'omar', { card: { number: pan, expiry: futureExpiry() } });
      const refused = await m.client.authorizations.create({ customer: { address }, amount: 500, currency: 'EUR', settlement: 'merchant_bill' });
      assert.equal(refused.reason, 'MERCHANT_BILLING_NOT_ALLOWED', 'no consent, no key');
      await ctx.subscribers.setLimit('omar', { releaseToMerchant: true });
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await ctx.merchants.addKey(m.merchantId, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'enc', keyId: 'settlement-enc' });
      const released = await m.client.authorizations.create({ customer: { address }, amount: 500, currency: 'EUR', settlement: 'merchant_bill' });
      assert.equal(released.status, 'approved');
      assert.equal(released.billingDetails!.split('.').length, 5, 'a compact JWE');
      assert.ok(!JSON.stringify(released).includes(pan));
      const { plaintext, protectedHeader } = await compactDecrypt(released.billingDetails!, privateKey);
      assert.deepEqual([protectedHeader.alg, protectedHeader.enc, protectedHeader.kid], ['ECDH-ES+A256KW', 'A256GCM', 'settlement-enc']);
      const details = JSON.parse(new TextDecoder().decode(plaintext)) as { cardNumber: string; holderName: string };
      assert.equal(details.holderName, 'omar Example');
      assert.equal(details.cardNumber === pan, true, 'the merchant, and only it, can read the card');
      const audit = await ctx.store.db.selectFrom('audit_log').select('detail').where('action', '=', 'vault.decrypt').execute();
      assert.ok(audit.some((a) => a.detail!.includes('settlement-merchant-release')));
    });

    it('merchant_bill confirmed by the subscriber later releases the billing details then, or is declined if the consent was withdrawn meanwhile', async () => {
      const ctx = m.t.gateway.context;
      const pan = testCardNumber(41);
      const { address } = await shopper(m, 'olga', { card: { number: pan, expiry: futureExpiry() }, releaseToMerchant: true, autoApproveLimit: 100 });
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await ctx.merchants.addKey(m.merchantId, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'enc', keyId: 'settlement-enc-later' });
      const approve = async (id: string) => (await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/authorizations/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${m.t.token}` } })).json() as Promise<{ status: string; reason: string | null }>;

      const asked = await m.client.authorizations.create({ customer: { address }, amount: 500, currency: 'EUR', settlement: 'merchant_bill' });
      assert.deepEqual([asked.status, asked.billingDetails ?? null], ['pending', null]);
      assert.equal((await approve(asked.id)).status, 'approved');
      const approved = await m.client.authorizations.retrieve(asked.id);
      assert.equal(approved.status, 'approved');
      assert.ok(approved.billingDetails, 'the merchant can bill the subscriber');
      const { plaintext, protectedHeader } = await compactDecrypt(approved.billingDetails, privateKey);
      assert.equal(protectedHeader.kid, 'settlement-enc-later');
      assert.equal((JSON.parse(new TextDecoder().decode(plaintext)) as { cardNumber: string }).cardNumber === pan, true);

      const used = async () => (await ctx.store.db.selectFrom('subscribers').select('amount_used').where('login', '=', 'olga').executeTakeFirstOrThrow()).amount_used;
      const before = await used();
      const second = await m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR', settlement: 'merchant_bill' });
      assert.equal(second.status, 'pending');
      await ctx.subscribers.setLimit('olga', { releaseToMerchant: false });
      assert.deepEqual(await approve(second.id), { id: second.id, status: 'declined', reason: 'MERCHANT_BILLING_NOT_ALLOWED' });
      assert.equal((await m.client.authorizations.retrieve(second.id)).billingDetails ?? null, null);
      assert.equal(await used(), before, 'its hold on the spending limit is given back');
    });

    it('signs each delivery, retries with backoff, and shows the history to the operator', async () => {
      const received: Received = { responses: [], calls: [], webhooks: [] };
      let answer = 500;
      const flaky = await webhookReceiver(received, () => answer);
      await m.t.gateway.context.store.db.updateTable('merchants').set({ webhook_url: flaky.url }).where('id', '=', m.merchantId).execute();
      const { address } = await shopper(m, 'pia');
      await m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
      const cert = m.t.gateway.certification;
      let history = { data: [] } as { data: Array<{ status: string; attempts: number; lastStatus: number; url: string }> };
      const mine = () => history.data.find((d) => d.url === flaky.url)!;
      // The gateway's own dispatcher ticks too, and a call made while its tick runs shares
      // that tick: deliver until the attempt shows, a bounded number of times.
      const deliverUntil = async (done: () => boolean) => {
        for (let i = 0; i < 50; i++) {
          await cert.deliverWebhooks();
          history = (await operator(`/merchants/${m.merchantId}/webhook-deliveries`)) as typeof history;
          if (mine() && done()) return;
        }
      };
      await deliverUntil(() => mine().attempts >= 1);
      assert.deepEqual([mine().status, mine().attempts, mine().lastStatus], ['pending', 1, 500]);
      answer = 200;
      await m.t.gateway.context.store.db.updateTable('webhook_deliveries').set({ next_attempt_at: 0 }).where('url', '=', flaky.url).execute();
      await deliverUntil(() => mine().status !== 'pending');
      assert.deepEqual([mine().status, mine().attempts], ['delivered', 2]);
      assert.deepEqual([backoffMs(1), backoffMs(2), backoffMs(5), backoffMs(30)], [1000, 2000, 16000, 3_600_000]);

      const keys = await m.client.webhookKeys();
      const delivery = received.webhooks.at(-1)!;
      assert.equal(verifyWebhook({ body: delivery.body, signature: delivery.headers['sideband-signature'], keys }).type, 'authorization.approved');
      assert.throws(() => verifyWebhook({ body: delivery.body.replace('300', '30000'), signature: delivery.headers['sideband-signature'], keys }), (e: WebhookVerificationError) => e.reason === 'signature-invalid');
      assert.throws(() => verifyWebhook({ body: delivery.body, signature: delivery.headers['sideband-signature'], keys, now: Date.now() + 600_000 }), (e: WebhookVerificationError) => e.reason === 'timestamp-outside-tolerance');
      await new Promise<void>((r) => flaky.server.close(() => r()));
    });
  });
}
