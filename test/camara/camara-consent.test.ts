import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/databases.ts';
import { merchantSetup, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';
import { CamaraConsents } from '../../src/certification/camara/camara-consents.ts';
import { camaraClient, camaraCustomer, paymentBody, PAYMENTS } from './camara-harness.ts';

for (const dialect of dialects) {
  describe(`CAMARA: a merchant learns a phone number only with the subscriber's consent (${dialect})`, () => {
    let m: MerchantSetup;
    let c: ReturnType<typeof camaraClient>;
    let bearer: string;
    before(async () => {
      m = await merchantSetup(dialect, `camara-consent-${dialect}`, { settlement: 'provider_bill' });
      c = camaraClient(m);
      bearer = await c.token();
    });
    after(async () => { await m?.dispose(); });
    const db = () => m.t.gateway.context.store.db;
    const consents = () => new CamaraConsents(m.t.gateway.context.store, 'cli');

    it('refuses an address-only payment without consent, creating nothing; the merchant that sent the number needs none', async () => {
      const who = await camaraCustomer(m, `cs-none-${dialect}`, { consent: false });
      const refused = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 3, { clientCorrelator: `cs-none-${dialect}` }));
      assert.equal(refused.status, 403);
      assert.equal(refused.body?.code, 'PERMISSION_DENIED');
      assert.doesNotMatch(JSON.stringify(refused.body), new RegExp(who.phoneNumber.replace('+', '\\+')));
      assert.equal((await db().selectFrom('authorizations').select('id').where('subscriber_id', '=', who.subscriberId).execute()).length, 0);
      assert.equal((await db().selectFrom('subscribers').select('amount_used').where('id', '=', who.subscriberId).executeTakeFirstOrThrow()).amount_used, 0);
      // It already knows the number: echoed, no consent needed.
      const known = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 3, { phoneNumber: who.phoneNumber }));
      assert.equal(known.status, 201);
      assert.equal((known.body?.amountTransaction as { phoneNumber: string }).phoneNumber, who.phoneNumber);
    });

    it('the operator gives and withdraws consent (audited); a payment keeps what it was entitled to when made', async () => {
      const who = await camaraCustomer(m, `cs-cli-${dialect}`, { consent: false });
      await consents().set(`cs-cli-${dialect}`, m.merchantId, true);
      const made = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 2));
      assert.equal(made.status, 201);
      assert.equal((made.body?.amountTransaction as { phoneNumber: string }).phoneNumber, who.phoneNumber);
      await consents().set(`cs-cli-${dialect}`, m.merchantId, false);
      assert.equal((await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 2))).body?.code, 'PERMISSION_DENIED');
      assert.equal((await c.call('GET', `${PAYMENTS}/payments/${made.body!.paymentId}`, bearer)).status, 200);
      const audit = await db().selectFrom('audit_log').select(['action', 'actor']).where('subject_id', '=', who.subscriberId).where('action', 'like', 'subscriber.camara-consent.%').orderBy('at').execute();
      assert.deepEqual(audit.map((a) => a.action), ['subscriber.camara-consent.give', 'subscriber.camara-consent.withdraw']);
      assert.equal(audit[0]!.actor, 'cli');
      // A payment made before consent was asked for (no basis) is shown only while the subscriber consents.
      await db().updateTable('camara_payments').set({ phone_basis: null }).where('authorization_id', '=', made.body!.paymentId!).execute();
      assert.equal((await c.call('GET', `${PAYMENTS}/payments/${made.body!.paymentId}`, bearer)).status, 404);
      const listed = await c.call('GET', `${PAYMENTS}/payments?perPage=100`, bearer);
      assert.ok(!listed.list.some((p) => p.paymentId === made.body!.paymentId));
      await consents().set(`cs-cli-${dialect}`, m.merchantId, true);
      assert.equal((await c.call('GET', `${PAYMENTS}/payments/${made.body!.paymentId}`, bearer)).status, 200);
    });

    it('the subscriber switches it in the portal\'s Settings, behind the same CSRF check as the other forms', async () => {
      const who = await camaraCustomer(m, `cs-portal-${dialect}`, { consent: false });
      const portal = new PortalClient(`http://${m.t.gateway.listen.portalHttp}`);
      await portal.get('/login');
      await portal.signIn(`cs-portal-${dialect}`, `cs-portal-${dialect}-password`);
      const page = await portal.get('/settings');
      assert.match(page.body, /Phone number to merchants/);
      assert.equal((await portal.post(`/settings/camara/${m.merchantId}`, { consent: 'on' }, { csrf: 'forged' })).status, 403);
      assert.equal((await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 1))).status, 403);
      assert.equal((await portal.post(`/settings/camara/${m.merchantId}`, { consent: 'on' })).status, 303);
      assert.equal((await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 1))).status, 201);
      assert.equal((await portal.post(`/settings/camara/${m.merchantId}`, { consent: 'maybe' })).status, 400);
      await portal.get('/settings');
      assert.equal((await portal.post(`/settings/camara/${m.merchantId}`, { consent: 'off' })).status, 303);
      assert.equal((await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 1))).status, 403);
    });
  });
}
