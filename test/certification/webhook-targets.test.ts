import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPrivateAddress } from '../../src/certification/webhooks/delivery-target.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';

/**
 * Merchants name the URLs webhooks go to (a CAMARA `sink` in each request), so by default
 * the gateway refuses to send one into the provider's own network: a merchant must not be
 * able to make it POST, with retries, to its listeners, a metadata service or a subscriber.
 */
describe('webhook targets', () => {
  it('private, loopback, link-local, CGNAT and unspecified addresses are refused, in either family; public ones are not', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.7', '169.254.169.254', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '2002:a00:1::1', 'fec0::1', '::7f00:1', 'not-an-address']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '203.0.113.5', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  });

  describe('with merchantApi.webhookPrivateTargets refuse', () => {
    let m: MerchantSetup;
    before(async () => {
      m = await merchantSetup('sqlite', 'webhook-targets', { settlement: 'provider_bill', config: { merchantApi: { webhookPrivateTargets: 'refuse' } } });
    });
    after(async () => m?.dispose());

    const deliveries = () => m.t.gateway.context.store.db.selectFrom('webhook_deliveries').select(['url', 'status', 'attempts', 'last_error']).orderBy('created_at').execute();

    for (const host of ['127.0.0.1', 'localhost']) {
      it(`an event for a webhook on ${host} is not sent, and fails at its first attempt instead of retrying for hours`, async () => {
        const port = new URL((await m.t.gateway.context.store.db.selectFrom('merchants').select('webhook_url').where('id', '=', m.merchantId).executeTakeFirstOrThrow()).webhook_url!).port;
        const url = `http://${host}:${port}/hooks`;
        await m.t.gateway.context.store.db.updateTable('merchants').set({ webhook_url: url }).where('id', '=', m.merchantId).execute();
        const before = m.received.webhooks.length;
        const { address } = await shopper(m, `webhook-target-${host.replace(/\W/g, '')}`);
        await m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
        await m.t.gateway.certification.deliverWebhooks();
        const mine = (await deliveries()).filter((d) => d.url === url);
        assert.ok(mine.length > 0, 'an event was queued for the URL');
        for (const d of mine) {
          assert.deepEqual([d.status, d.attempts], ['failed', 1]);
          assert.match(d.last_error!, /private, loopback or link-local/);
        }
        assert.equal(m.received.webhooks.length, before, 'the receiver got nothing');
      });
    }
  });
});
