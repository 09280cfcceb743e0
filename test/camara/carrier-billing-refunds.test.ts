import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/databases.ts';
import { merchantSetup, type MerchantSetup } from '../support/merchant-harness.ts';
import { camaraClient, camaraCustomer, paymentBody, PAYMENTS, referenceCode, REFUNDS } from './camara-harness.ts';

const partial = (amount: number, extra: Record<string, unknown> = {}) => ({
  type: 'partial',
  amountTransaction: { referenceCode: referenceCode('refund'), refundAmount: { chargingInformation: { amount, currency: 'EUR', description: 'A returned ticket' } }, ...extra },
});
const total = (extra: Record<string, unknown> = {}) => ({ type: 'total', reason: 'Returned', amountTransaction: { referenceCode: referenceCode('refund'), refundAmount: {}, ...extra } });

for (const dialect of dialects) {
  describe(`CAMARA Carrier Billing refunds (${dialect})`, () => {
    let m: MerchantSetup;
    let c: ReturnType<typeof camaraClient>;
    let bearer: string;
    before(async () => {
      m = await merchantSetup(dialect, `camara-refunds-${dialect}`, { settlement: 'provider_bill' });
      c = camaraClient(m);
      bearer = await c.token();
    });
    after(async () => { await m?.dispose(); });

    const db = () => m.t.gateway.context.store.db;
    const paid = async (login: string, amount: number) => {
      const customer = await camaraCustomer(m, login);
      const r = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(customer, amount));
      assert.equal(r.body?.paymentStatus, 'succeeded');
      return { customer, id: r.body!.paymentId! };
    };
    const authorization = (id: string) => db().selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const used = async (subscriberId: string) => (await db().selectFrom('subscribers').select('amount_used').where('id', '=', subscriberId).executeTakeFirstOrThrow()).amount_used;

    it('refunds part, then the rest, on the core: ledger, limits, retrieve, list and the remaining amount', async () => {
      const { customer, id } = await paid(`rf-total-${dialect}`, 20);
      const first = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, partial(5.5, { clientCorrelator: 'rf-1' }), 'corr-r1');
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body?.refundStatus, 'succeeded');
      assert.equal(first.headers.get('x-correlator'), 'corr-r1');
      assert.equal((await c.call('GET', `${REFUNDS}/payments/${id}/refunds/remaining-amount`, bearer)).body?.amount, 14.5);
      assert.equal(await used(customer.subscriberId), 1450);
      const rest = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, total());
      assert.equal(rest.status, 201);
      assert.equal(rest.body?.type, 'total');
      const row = await authorization(id);
      assert.equal(row.refunded_amount, 2000);
      assert.equal(row.status, 'refunded');
      assert.equal(await used(customer.subscriberId), 0);
      // The ledger nets to nothing for this payment: what was taken is given back.
      const ledger = await db().selectFrom('ledger_entries').select(['account', 'amount']).where('authorization_id', '=', id).execute();
      assert.equal(ledger.reduce((s, e) => s + Number(e.amount), 0), 0);
      assert.equal((await c.call('GET', `${REFUNDS}/payments/${id}/refunds/remaining-amount`, bearer)).body?.amount, 0);
      const got = await c.call('GET', `${REFUNDS}/payments/${id}/refunds/${first.body!.refundId}`, bearer);
      assert.deepEqual(got.body, first.body);
      const list = await c.call('GET', `${REFUNDS}/payments/${id}/refunds?order=asc&perPage=1&page=2`, bearer);
      assert.equal(list.headers.get('x-total-count'), '2');
      assert.deepEqual(list.list.map((r) => r.refundId), [rest.body!.refundId]);
      // Nothing is left: a total refund (or any) is now refused, and nothing moves.
      const again = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, total());
      assert.equal(again.status, 422);
      assert.equal(again.body?.code, 'CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT');
      assert.equal((await c.call('GET', `${REFUNDS}/payments/${id}/refunds/nothing_here`, bearer)).status, 404);
    });

    it('refuses more than was captured, also when two partial refunds race for it', async () => {
      const { id } = await paid(`rf-race-${dialect}`, 10);
      const over = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, partial(10.01));
      assert.equal(over.status, 422);
      assert.equal(over.body?.code, 'CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT');
      const both = await Promise.all([c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, partial(6)), c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, partial(6))]);
      assert.deepEqual(both.map((r) => r.status).sort(), [201, 422]);
      const row = await authorization(id);
      assert.equal(row.refunded_amount, 600);
      assert.equal((await db().selectFrom('camara_refunds').select('refund_id').where('authorization_id', '=', id).execute()).length, 1);
      assert.equal((await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, { ...partial(1), amountTransaction: { referenceCode: 'x', refundAmount: { chargingInformation: { amount: 1, currency: 'USD', description: 'x' } } } })).body?.code, 'INVALID_ARGUMENT');
    });

    it('a retry with the same clientCorrelator is the same refund; another body under it is refused', async () => {
      const { id } = await paid(`rf-retry-${dialect}`, 8);
      const body = partial(3, { clientCorrelator: `rf-retry-${dialect}` });
      const first = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, body);
      const retry = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, body);
      assert.equal(retry.status, 201);
      assert.equal(retry.body?.refundId, first.body?.refundId);
      assert.equal((await authorization(id)).refunded_amount, 300);
      const reused = await c.call('POST', `${REFUNDS}/payments/${id}/refunds`, bearer, partial(1, { clientCorrelator: `rf-retry-${dialect}` }));
      assert.equal(reused.status, 400);
      assert.equal((await authorization(id)).refunded_amount, 300);
    });

    it('a payment not captured is not refundable; another merchant\'s payment is not found', async () => {
      const customer = await camaraCustomer(m, `rf-reserved-${dialect}`);
      const reserved = await c.call('POST', `${PAYMENTS}/payments/prepare`, bearer, paymentBody(customer, 4));
      assert.equal(reserved.body?.paymentStatus, 'reserved');
      const early = await c.call('POST', `${REFUNDS}/payments/${reserved.body!.paymentId}/refunds`, bearer, total());
      assert.equal(early.status, 422);
      assert.equal(early.body?.code, 'CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS');

      const { id } = await paid(`rf-theirs-${dialect}`, 9);
      const ctx = m.t.gateway.context;
      const other = await ctx.merchants.add({ name: `Other ${dialect}`, settlement: 'card' });
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      await ctx.merchants.addKey(other.id, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: `other-${dialect}` });
      await ctx.merchants.certify(other.id);
      const thief = camaraClient(m, { merchantId: other.id, keyId: `other-${dialect}`, privateKey });
      const stolen = await thief.call('POST', `${REFUNDS}/payments/${id}/refunds`, await thief.token(), total());
      assert.equal(stolen.status, 404);
      assert.equal(stolen.body?.code, 'NOT_FOUND');
      assert.equal((await thief.call('GET', `${REFUNDS}/payments/${id}/refunds`, await thief.token())).status, 404);
      assert.equal((await authorization(id)).refunded_amount, 0);
    });
  });
}
