import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { SidebandApiError } from '@sideband/merchant-sdk';
import { world, type World } from '../support/channel-world.ts';
import { futureExpiry } from '../support/test-cards.ts';
import { shopper } from '../support/merchant-harness.ts';

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: object };

/**
 * Real answers of a running gateway, each checked against the OpenAPI document the same
 * gateway serves: the purchase path, errors, and the secure channel's routes.
 */
describe('responses match the served OpenAPI document', () => {
  let w: World;
  let doc: Document;
  let ajv: Ajv2020;
  before(async () => {
    w = await world('openapi-responses');
    const res = await fetch(`http://${w.m.t.gateway.listen.merchantHttp}/v1/openapi.json`);
    doc = (await res.json()) as Document;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema({ $id: 'sideband-openapi', components: doc.components });
  });
  after(async () => { await w?.dispose(); });

  const operationFor = (method: string, path: string): [string, Operation] => {
    for (const [template, ops] of Object.entries(doc.paths)) {
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const op = ops[method.toLowerCase()];
      if (re.test(path) && op) return [template, op];
    }
    assert.fail(`${method} ${path} is not in the document`);
  };

  it('every answer of a purchase, its capture and refund, errors and a channel exchange', async () => {
    const { m } = w;
    const { address } = await shopper(m, 'openapi-buyer', { card: { number: w.pan, expiry: futureExpiry() } });
    const a = await m.client.authorizations.create({ customer: { address }, amount: 1250, currency: 'EUR', description: 'A book', merchantReference: 'order-1' });
    assert.equal(a.status, 'approved');
    const capture = await m.client.authorizations.capture(a.id, { amount: 1000 });
    await m.client.authorizations.retrieve(a.id);
    await m.client.captures.retrieve(capture.id);
    const refund = await m.client.authorizations.refund(a.id, { amount: 400, reason: 'damaged' });
    await m.client.refunds.retrieve(refund.id);
    await m.client.authorizations.list({ limit: 5 });
    const b = await m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
    await m.client.authorizations.void(b.id);
    const declined = await m.client.authorizations.create({ customer: { address: '198.51.100.99' }, amount: 300, currency: 'EUR' }).catch((e: SidebandApiError) => e);
    assert.ok(declined);
    await assert.rejects(m.client.authorizations.retrieve('auth_nothing'));
    await assert.rejects(m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR', colour: 'red' } as never));
    await m.client.webhookKeys();
    await m.client.channel.capabilities();
    const c = await m.client.channel.createExchange({ authorizationId: a.id, firstSender: 'merchant', items: { provider: 0, merchant: 1 } }).catch((e: SidebandApiError) => e);
    assert.ok(c);
    const { exchangeId, outcome } = await w.channel.requestCard(await w.authorizationId(), 1);
    await outcome;
    await m.client.channel.retrieveExchange(exchangeId);
    await assert.rejects(m.client.channel.retrieveExchange('exc_nothing'));

    const seen = new Set<string>();
    for (const call of m.received.calls) {
      const [template, op] = operationFor(call.method, call.path);
      const documented = op.responses[String(call.status)];
      assert.ok(documented, `${call.method} ${template} answered ${call.status}, which the document does not list`);
      const schema = documented.content?.['application/json']?.schema as { $ref?: string } | undefined;
      assert.ok(schema, `${call.method} ${template} ${call.status} has a JSON schema`);
      const validate = ajv.compile(schema.$ref ? { $ref: `sideband-openapi${schema.$ref}` } : schema);
      assert.ok(validate(JSON.parse(call.body)), `${call.method} ${template} ${call.status}: ${ajv.errorsText(validate.errors)}`);
      seen.add(`${call.method} ${template} ${call.status}`);
    }
    for (const expected of ['POST /v1/authorizations 201', 'POST /v1/authorizations/{id}/captures 201', 'POST /v1/authorizations/{id}/refunds 201', 'POST /v1/authorizations/{id}/void 200', 'GET /v1/authorizations 200', 'GET /v1/authorizations/{id} 404', 'POST /v1/authorizations 400', 'GET /v1/channel 200', 'POST /v1/channel/exchanges 201', 'GET /v1/channel/exchanges/{id} 200', 'GET /v1/channel/exchanges/{id} 404', 'GET /v1/webhook-keys 200']) {
      assert.ok(seen.has(expected), `checked ${expected}; seen: ${[...seen].join(', ')}`);
    }
  });
});
