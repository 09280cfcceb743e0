import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signRequest, SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { dialects } from '../../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../../support/merchant-harness.ts';

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * The Idempotency-Key decides whether a request is a new operation or a retry, so it must
 * be signed: otherwise whoever relays a signed purchase could change the key and have it
 * carried out twice. The SDK covers it; the gateway refuses a request whose signature
 * does not cover the Idempotency-Key it carries.
 */
for (const dialect of dialects) {
  describe(`signed idempotency keys on ${dialect}`, () => {
    let m: MerchantSetup;
    let base: string;
    let address: string;
    const sent: Sent[] = [];
    let client: SidebandClient;

    before(async () => {
      m = await merchantSetup(dialect, `signed-idempotency-${dialect}`, { settlement: 'provider_bill' });
      base = `http://${m.t.gateway.listen.merchantHttp}`;
      address = (await shopper(m, 'tove')).address;
      const recording: typeof fetch = (input, init = {}) => {
        sent.push({ url: String(input), method: init.method ?? 'GET', headers: { ...(init.headers as Record<string, string>) }, body: init.body === undefined ? undefined : String(init.body) });
        return fetch(input, init);
      };
      client = new SidebandClient({ baseUrl: base, keyId: m.keyId, privateKey: m.privateKey, fetch: recording, maxRetries: 0 });
    });
    after(async () => m?.dispose());

    const authorizationCount = async () => (await m.t.gateway.context.store.db.selectFrom('authorizations').select('id').execute()).length;
    const send = async (r: Sent) => {
      const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body });
      return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; status?: string } };
    };
    const purchase = (amount: number) => JSON.stringify({ customer: { address }, amount, currency: 'EUR', settlement: 'provider_bill' });

    it('the SDK covers idempotency-key whenever it sends one, and only then', async () => {
      sent.length = 0;
      const auth = await client.authorizations.create({ customer: { address }, amount: 120, currency: 'EUR', settlement: 'provider_bill' });
      assert.equal(auth.status, 'approved');
      await client.authorizations.retrieve(auth.id);
      const [post, get] = sent;
      assert.ok(post!.headers['idempotency-key']);
      assert.match(post!.headers['signature-input']!, /^sig1=\("@method" "@target-uri" "content-digest" "idempotency-key"\);/);
      assert.equal(get!.headers['idempotency-key'], undefined);
      assert.match(get!.headers['signature-input']!, /^sig1=\("@method" "@target-uri" "content-digest"\);/);
    });

    it('a relayed request whose Idempotency-Key was changed is refused, so one signed purchase stays one', async () => {
      sent.length = 0;
      const before = await authorizationCount();
      await client.authorizations.create({ customer: { address }, amount: 130, currency: 'EUR', settlement: 'provider_bill' });
      const original = sent[0]!;
      const changed = await send({ ...original, headers: { ...original.headers, 'idempotency-key': randomUUID() } });
      assert.deepEqual([changed.status, changed.body.error?.code], [401, 'SIGNATURE_INVALID']);
      assert.equal(await authorizationCount(), before + 1);
    });

    it('a request carrying an Idempotency-Key its signature does not cover is refused with SIGNATURE_COMPONENT_MISSING', async () => {
      const before = await authorizationCount();
      for (const idempotencyKey of [randomUUID(), '']) {
        const url = `${base}/v1/authorizations`;
        const body = purchase(140);
        const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey };
        const signed = signRequest({ method: 'POST', url, headers, body }, { privateKey: m.privateKey, keyid: m.keyId, components: ['@method', '@target-uri', 'content-digest'] });
        const r = await send({ url, method: 'POST', body, headers: { ...headers, 'content-digest': signed.contentDigest!, 'signature-input': signed.signatureInput, signature: signed.signature } });
        assert.deepEqual([r.status, r.body.error?.code], [401, 'SIGNATURE_COMPONENT_MISSING'], JSON.stringify(idempotencyKey));
        assert.match(r.body.error!.message, /"idempotency-key"/);
        assert.match(r.body.error!.message, /Idempotency-Key header/);
      }
      assert.equal(await authorizationCount(), before);
    });

    it('a request without Idempotency-Key need not cover it; the error then names only what is required', async () => {
      const url = `${base}/v1/authorizations?limit=1`;
      const ok = signRequest({ method: 'GET', url, headers: {}, body: '' }, { privateKey: m.privateKey, keyid: m.keyId, components: ['@method', '@target-uri', 'content-digest'] });
      const listed = await send({ url, method: 'GET', body: undefined, headers: { 'content-digest': ok.contentDigest!, 'signature-input': ok.signatureInput, signature: ok.signature } });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const weak = signRequest({ method: 'GET', url, headers: {} }, { privateKey: m.privateKey, keyid: m.keyId, components: ['@method', '@target-uri'] });
      const refused = await send({ url, method: 'GET', body: undefined, headers: { 'signature-input': weak.signatureInput, signature: weak.signature } });
      assert.equal(refused.body.error?.code, 'SIGNATURE_COMPONENT_MISSING');
      assert.doesNotMatch(refused.body.error!.message, /idempotency/i);
    });

    it('a retry with the same signed key still replays the first answer', async () => {
      const key = randomUUID();
      const first = await client.authorizations.create({ customer: { address }, amount: 150, currency: 'EUR', settlement: 'provider_bill' }, { idempotencyKey: key });
      const again = await client.authorizations.create({ customer: { address }, amount: 150, currency: 'EUR', settlement: 'provider_bill' }, { idempotencyKey: key });
      assert.equal(again.id, first.id);
      await assert.rejects(
        client.authorizations.create({ customer: { address }, amount: 151, currency: 'EUR', settlement: 'provider_bill' }, { idempotencyKey: key }),
        (e: unknown) => e instanceof SidebandApiError && e.code === 'IDEMPOTENCY_KEY_REUSED',
      );
    });
  });
}
