import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';
import { CamaraConsents } from '../../src/certification/camara/camara-consents.ts';
import { camaraClient, camaraCustomer, paymentBody, PAYMENTS as BASE } from './camara-harness.ts';

for (const dialect of dialects) {
  describe(`CAMARA Carrier Billing payments (${dialect})`, () => {
    let m: MerchantSetup;
    before(async () => {
      m = await merchantSetup(dialect, `camara-${dialect}`, { settlement: 'provider_bill' });
      c = camaraClient(m);
    });
    after(async () => { await m?.dispose(); });

    let c: ReturnType<typeof camaraClient>;
    const assertion = (over: Parameters<ReturnType<typeof camaraClient>['assertion']>[0] = {}) => c.assertion(over);
    const tokenRequest = (jwt: string) => c.tokenRequest(jwt);
    const token = () => c.token();
    /** Every CAMARA answer is checked against the published document. */
    const call = (method: string, path: string, bearer: string | null, body?: unknown, correlator?: string) => c.call(method, `${BASE}${path}`, bearer, body, correlator);
    const customer = (login: string, sub: Parameters<typeof camaraCustomer>[2] = {}) => camaraCustomer(m, login, sub);
    const payment = paymentBody;

    it('authenticates by private_key_jwt and refuses no token, an expired token, a replayed assertion and a wrong key', async () => {
      assert.equal((await call('GET', '/payments', null)).body?.code, 'UNAUTHENTICATED');
      const jwt = await assertion();
      assert.equal((await tokenRequest(jwt)).status, 200);
      const replay = await tokenRequest(jwt);
      assert.equal(replay.status, 401);
      assert.match(((await replay.json()) as { error_description: string }).error_description, /OAUTH_CLIENT_ASSERTION_REPLAYED/);
      const wrong = await tokenRequest(await assertion({ key: generateKeyPairSync('ed25519').privateKey }));
      assert.equal(wrong.status, 401);
      assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
      assert.equal((await tokenRequest(await assertion({ aud: 'https://elsewhere.example/oauth2/token' }))).status, 401);
      const expired = await token();
      await m.t.gateway.context.store.db.updateTable('oauth_access_tokens').set({ expires_at: Date.now() - 1 }).execute();
      const r = await call('GET', '/payments', expired, undefined, 'corr-1');
      assert.equal(r.status, 401);
      assert.equal(r.body?.code, 'UNAUTHENTICATED');
      assert.equal(r.headers.get('x-correlator'), 'corr-1');
    });

    it('a one-step purchase by device address succeeds on the core: ledger, limits, retrieve and list', async () => {
      const bearer = await token();
      const c = await customer(`cb-buyer-${dialect}`);
      const created = await call('POST', '/payments', bearer, payment(c, 19.99, { clientCorrelator: 'order-1' }), 'corr-2');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body?.paymentStatus, 'succeeded');
      assert.equal(created.headers.get('x-correlator'), 'corr-2');
      const id = created.body!.paymentId!;
      const row = await m.t.gateway.context.store.db.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.amount, 1999);
      assert.equal(row.captured_amount, 1999);
      const sub = await m.t.gateway.context.store.db.selectFrom('subscribers').select('amount_used').where('id', '=', c.subscriberId).executeTakeFirstOrThrow();
      assert.equal(sub.amount_used, 1999);
      // clientCorrelator is the idempotency key: the retry is the same payment, another body is refused.
      const again = await call('POST', '/payments', bearer, payment(c, 19.99, { clientCorrelator: 'order-1' }));
      assert.equal(again.status, 400);
      const body = payment(c, 5, { clientCorrelator: 'order-2' });
      const first = await call('POST', '/payments', bearer, body);
      const retry = await call('POST', '/payments', bearer, body);
      assert.equal(retry.status, 201);
      assert.equal(retry.body?.paymentId, first.body?.paymentId);
      assert.equal((await m.t.gateway.context.store.db.selectFrom('authorizations').select('id').where('subscriber_id', '=', c.subscriberId).execute()).length, 2);
      const got = await call('GET', `/payments/${id}`, bearer);
      assert.equal(got.body?.paymentStatus, 'succeeded');
      assert.equal((await call('GET', '/payments/auth_nothing', bearer)).body?.code, 'NOT_FOUND');
      const list = await call('GET', '/payments?perPage=1&order=asc', bearer);
      assert.equal(list.status, 200);
      assert.equal(list.headers.get('x-total-count'), '2');
      // By phone number alone: the subscriber is online, so the core checks the address their session holds.
      const byPhone = await call('POST', '/payments', bearer, { amountTransaction: { phoneNumber: c.phoneNumber, referenceCode: 'by-phone', paymentAmount: { chargingInformation: { amount: 1, currency: 'EUR', description: 'A ticket' } } } });
      assert.equal(byPhone.body?.paymentStatus, 'succeeded');
      assert.equal((await call('POST', '/payments', bearer, { amountTransaction: { phoneNumber: '+19999999999', referenceCode: 'x', paymentAmount: { chargingInformation: { amount: 1, currency: 'EUR', description: 'x' } } } })).body?.code, 'IDENTIFIER_NOT_FOUND');
      assert.equal((await call('POST', '/payments', bearer, { amountTransaction: { referenceCode: 'x', paymentAmount: { chargingInformation: { amount: 1, currency: 'EUR', description: 'x' } } } })).body?.code, 'MISSING_IDENTIFIER');
      assert.equal((await call('POST', '/payments', bearer, payment(c, 1.001))).body?.code, 'INVALID_ARGUMENT');
    });

    it('limits and presence are the core\'s: over the spending limit, not visited, not there', async () => {
      const bearer = await token();
      const c = await customer(`cb-limited-${dialect}`, { spendingLimit: 1000 });
      const over = await call('POST', '/payments', bearer, payment(c, 10.01));
      assert.equal(over.status, 422);
      assert.equal(over.body?.code, 'CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED');
      const d = await customer(`cb-novisit-${dialect}`, { visit: false });
      const denied = await call('POST', '/payments', bearer, payment(d, 1));
      assert.equal(denied.status, 403);
      assert.equal(denied.body?.code, 'CARRIER_BILLING.PAYMENT_DENIED');
      assert.equal((await call('POST', '/payments', bearer, payment({ address: '192.0.2.250' }, 1))).body?.code, 'IDENTIFIER_NOT_FOUND');
      const nophone = await shopper(m, `cb-nophone-${dialect}`);
      await new CamaraConsents(m.t.gateway.context.store, 'test').set(`cb-nophone-${dialect}`, m.merchantId, true);
      assert.equal((await call('POST', '/payments', bearer, payment(nophone, 1))).body?.code, 'SERVICE_NOT_APPLICABLE');
    });

    it('two steps: prepare reserves, confirm captures, cancel voids; a subscriber\'s confirmation shows as processing', async () => {
      const bearer = await token();
      const c = await customer(`cb-twostep-${dialect}`);
      const prepared = await call('POST', '/payments/prepare', bearer, payment(c, 12));
      assert.equal(prepared.status, 201);
      assert.equal(prepared.body?.paymentStatus, 'reserved');
      const id = prepared.body!.paymentId!;
      assert.equal((await call('POST', `/payments/${id}/confirm`, bearer, {})).status, 202);
      assert.equal((await call('GET', `/payments/${id}`, bearer)).body?.paymentStatus, 'succeeded');
      assert.equal((await call('POST', `/payments/${id}/confirm`, bearer, {})).body?.code, 'CARRIER_BILLING.PAYMENT_CONFIRMED');
      const second = await call('POST', '/payments/prepare', bearer, payment(c, 3));
      assert.equal((await call('POST', `/payments/${second.body!.paymentId}/cancel`, bearer, { phoneNumber: c.phoneNumber })).status, 202);
      assert.equal((await call('GET', `/payments/${second.body!.paymentId}`, bearer)).body?.paymentStatus, 'cancelled');
      assert.equal((await call('POST', `/payments/${second.body!.paymentId}/confirm`, bearer, {})).body?.code, 'CARRIER_BILLING.PAYMENT_CANCELLED');
      const sub = await m.t.gateway.context.store.db.selectFrom('subscribers').select('amount_used').where('id', '=', c.subscriberId).executeTakeFirstOrThrow();
      assert.equal(sub.amount_used, 1200);
      const waiting = await customer(`cb-confirm-${dialect}`, { autoApproveLimit: null, card: { number: testCardNumber(3), expiry: futureExpiry() } });
      const pending = await call('POST', '/payments/prepare', bearer, payment(waiting, 2));
      assert.equal(pending.body?.paymentStatus, 'processing');
      assert.equal((await call('POST', `/payments/${pending.body!.paymentId}/confirm`, bearer, {})).status, 403);
    });

    it('pages the list in SQL: page, perPage and a status filter give every payment once, with the documented headers', async () => {
      const bearer = await token();
      const before = Date.now();
      const c2 = await customer(`cb-pages-${dialect}`);
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call('POST', '/payments', bearer, payment(c2, 1 + i));
        assert.equal(r.body?.paymentStatus, 'succeeded', JSON.stringify(r.body));
        made.push(r.body!.paymentId!);
      }
      const reserved = (await call('POST', '/payments/prepare', bearer, payment(c2, 2))).body!.paymentId!;
      const since = `paymentCreationDate.gte=${encodeURIComponent(new Date(before).toISOString())}`;
      const seen: string[] = [];
      for (let page = 1; page <= 3; page++) {
        const r = await call('GET', `/payments?${since}&paymentStatus=succeeded&perPage=2&page=${page}&order=asc`, bearer);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-total-count'), '5');
        assert.equal(r.headers.get('content-last-key'), String(Math.min(5, page * 2)));
        seen.push(...r.list.map((p) => p.paymentId as string));
      }
      assert.deepEqual(seen, made);
      const past = await call('GET', `/payments?${since}&paymentStatus=succeeded&perPage=2&page=4`, bearer);
      assert.equal(past.list.length, 0);
      assert.equal(past.headers.get('content-last-key'), null);
      const onlyReserved = await call('GET', `/payments?${since}&paymentStatus=reserved,cancelled`, bearer);
      assert.deepEqual(onlyReserved.list.map((p) => p.paymentId), [reserved]);
      assert.equal((await call('GET', '/payments?perPage=101', bearer)).body?.code, 'OUT_OF_RANGE');
    });
  });
}
