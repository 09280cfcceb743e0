import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/databases.ts';
import { merchantSetup, type MerchantSetup } from '../support/merchant-harness.ts';
import { camaraClient, camaraCustomer, paymentBody, PAYMENTS, REFUNDS } from './camara-harness.ts';

type Delivery = { headers: Record<string, string | string[] | undefined>; body: string };

for (const dialect of dialects) {
  describe(`CAMARA notifications: CloudEvents to the sink through the webhook outbox (${dialect})`, () => {
    let m: MerchantSetup;
    let c: ReturnType<typeof camaraClient>;
    let bearer: string;
    let sink: Server;
    let sinkUrl: string;
    const received: Delivery[] = [];
    /** The status the sink answers next (then 204). */
    const answers: number[] = [];
    before(async () => {
      m = await merchantSetup(dialect, `camara-sink-${dialect}`, { settlement: 'provider_bill', config: { merchantApi: { camaraSinkLoopbackHttp: true } } });
      c = camaraClient(m);
      bearer = await c.token();
      sink = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.statusCode = answers.shift() ?? 204;
          res.end();
        });
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
      sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/camara-events`;
    });
    after(async () => {
      await new Promise<void>((r) => sink?.close(() => r()));
      await m?.dispose();
    });

    const expires = () => new Date(Date.now() + 3_600_000).toISOString();
    const credential = (accessToken: string) => ({ credentialType: 'ACCESSTOKEN', accessToken, accessTokenType: 'bearer', accessTokenExpiresUtc: expires() });
    const db = () => m.t.gateway.context.store.db;
    /** Delivers what is due, after making every pending CloudEvent due now (the back-off is the dispatcher's, tested there). */
    const deliver = async () => {
      await db().updateTable('webhook_deliveries').set({ next_attempt_at: 0 }).where('format', '=', 'cloudevents').where('status', '=', 'pending').execute();
      await m.t.gateway.certification.deliverWebhooks();
    };
    const events = (type: string) => received.filter((d) => d.body.includes(`"${type}"`));

    it('a payment\'s completion arrives as the documented CloudEvent with the bearer credential, and is retried after a 500', async () => {
      const who = await camaraCustomer(m, `sink-pay-${dialect}`);
      answers.push(500);
      const made = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 7, {}, { sink: sinkUrl, sinkCredential: credential('sink-token-1') }));
      assert.equal(made.status, 201, JSON.stringify(made.body));
      await deliver();
      assert.equal(events('org.camaraproject.carrier-billing.v0.payment-completed').length, 1);
      const row = await db().selectFrom('webhook_deliveries').selectAll().where('format', '=', 'cloudevents').where('url', '=', sinkUrl).executeTakeFirstOrThrow();
      assert.equal(row.status, 'pending');
      assert.equal(row.last_status, 500);
      await deliver();
      const [failed, delivered] = events('org.camaraproject.carrier-billing.v0.payment-completed');
      assert.equal(delivered!.body, failed!.body);
      assert.equal(delivered!.headers.authorization, 'Bearer sink-token-1');
      assert.equal(delivered!.headers['content-type'], 'application/cloudevents+json');
      c.specs[1]!.checkSchema('EventPaymentCompleted', delivered!.body);
      const event = JSON.parse(delivered!.body) as { specversion: string; source: string; data: { paymentId: string; status: string } };
      assert.equal(event.specversion, '1.0');
      assert.equal(event.data.paymentId, made.body!.paymentId);
      assert.equal(event.data.status, 'succeeded');
      assert.equal((await db().selectFrom('webhook_deliveries').select('status').where('id', '=', row.id).executeTakeFirstOrThrow()).status, 'delivered');
    });

    it('a two-step payment is notified reserved then cancelled; a refund is notified completed', async () => {
      const who = await camaraCustomer(m, `sink-two-${dialect}`);
      const prepared = await c.call('POST', `${PAYMENTS}/payments/prepare`, bearer, paymentBody(who, 4, {}, { sink: sinkUrl, sinkCredential: credential('sink-token-2') }));
      assert.equal((await c.call('POST', `${PAYMENTS}/payments/${prepared.body!.paymentId}/cancel`, bearer, {})).status, 202);
      await deliver();
      for (const [type, schema] of [['payment-reserved', 'EventPaymentReserved'], ['payment-cancelled', 'EventPaymentCancelled']] as const) {
        const e = events(`org.camaraproject.carrier-billing.v0.${type}`).find((d) => d.body.includes(prepared.body!.paymentId!));
        assert.ok(e, type);
        c.specs[1]!.checkSchema(schema, e.body);
      }
      const paid = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 5));
      const refund = await c.call('POST', `${REFUNDS}/payments/${paid.body!.paymentId}/refunds`, bearer, { type: 'total', sink: sinkUrl, sinkCredential: credential('sink-token-3'), amountTransaction: { referenceCode: 'refund-sink', refundAmount: {} } });
      assert.equal(refund.status, 201);
      await deliver();
      const e = events('org.camaraproject.carrier-billing-refund.v0.refund-completed').at(-1)!;
      c.specs[0]!.checkSchema('EventRefundCompleted', e.body);
      assert.equal((JSON.parse(e.body) as { data: { refundId: string } }).data.refundId, refund.body!.refundId);
      assert.equal(e.headers.authorization, 'Bearer sink-token-3');
    });

    it('refuses a sink that is not https (or loopback http here), and credentials other than a bearer access token', async () => {
      const who = await camaraCustomer(m, `sink-bad-${dialect}`);
      const tries: Array<[Record<string, unknown>, string]> = [
        [{ sink: 'http://192.0.2.10/hook' }, 'INVALID_SINK'],
        [{ sink: 'ftp://example.com/x' }, 'INVALID_SINK'],
        [{ sink: sinkUrl, sinkCredential: { credentialType: 'PLAIN', identifier: 'a', secret: 'b' } }, 'INVALID_CREDENTIAL'],
        [{ sink: sinkUrl, sinkCredential: { ...credential('t'), accessTokenType: 'mac' } }, 'INVALID_TOKEN'],
        [{ sink: sinkUrl, sinkCredential: { ...credential('t'), accessTokenExpiresUtc: '2000-01-01T00:00:00Z' } }, 'INVALID_CREDENTIAL'],
      ];
      for (const [top, code] of tries) {
        const r = await c.call('POST', `${PAYMENTS}/payments`, bearer, paymentBody(who, 1, {}, top));
        assert.equal(r.status, 400);
        assert.equal(r.body?.code, code, JSON.stringify(top));
      }
      assert.equal((await db().selectFrom('authorizations').select('id').where('subscriber_id', '=', who.subscriberId).execute()).length, 0);
    });
  });
}
