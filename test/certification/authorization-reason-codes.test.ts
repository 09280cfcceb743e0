import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signRequest, SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

const code = (e: unknown) => (e as SidebandApiError).code;

for (const dialect of dialects) {
  describe(`every reason code of the merchant API on ${dialect}`, () => {
    let m: MerchantSetup;
    let base: string;
    let address: string;

    before(async () => {
      m = await merchantSetup(dialect, `reasons-${dialect}`);
      base = `http://${m.t.gateway.listen.merchantHttp}`;
      address = (await shopper(m, 'kira', { spendingLimit: 10_000, autoApproveLimit: 5_000, card: { number: testCardNumber(30), expiry: futureExpiry(), creditLimit: 80_000 } })).address;
    });
    after(async () => m?.dispose());

    /** Sends a request signed by the test, so that each part can be broken on purpose. */
    const raw = async (opts: { method?: string; path?: string; body?: string; sendBody?: string; headers?: Record<string, string>; sign?: Partial<Parameters<typeof signRequest>[1]>; mutate?: (h: Record<string, string>) => void; key?: ReturnType<typeof generateKeyPairSync>['privateKey']; keyid?: string }) => {
      const method = opts.method ?? 'POST';
      const url = `${base}${opts.path ?? '/v1/authorizations'}`;
      const body = opts.body ?? JSON.stringify({ customer: { address }, amount: 100, currency: 'EUR' });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...opts.headers };
      // The gateway requires a sent Idempotency-Key to be signed, as the SDK does.
      const components = ['@method', '@target-uri', 'content-digest', ...('idempotency-key' in headers ? ['idempotency-key'] : [])];
      const signed = signRequest({ method, url, headers, body }, { privateKey: opts.key ?? m.privateKey, keyid: opts.keyid ?? m.keyId, components, ...opts.sign });
      if (signed.contentDigest && !headers['content-digest']) headers['content-digest'] = signed.contentDigest;
      headers['signature-input'] = signed.signatureInput;
      headers.signature = signed.signature;
      opts.mutate?.(headers);
      const res = await fetch(url, { method, headers, body: method === 'GET' ? undefined : opts.sendBody ?? body });
      return { status: res.status, body: (await res.json()) as { error?: { code: string; param?: string }; status?: string; reason?: string } };
    };

    it('authentication: missing, malformed, unknown key, bad signature, expired, replayed nonce, missing components, digest mismatch', async () => {
      const cases: Array<[string, number, Parameters<typeof raw>[0]]> = [
        ['SIGNATURE_MISSING', 401, { mutate: (h) => { delete h.signature; delete h['signature-input']; } }],
        ['SIGNATURE_MALFORMED', 401, { mutate: (h) => { h['signature-input'] = 'sig1=("@method" garbage'; } }],
        ['SIGNATURE_KEY_UNKNOWN', 401, { keyid: 'nobody-key' }],
        ['SIGNATURE_INVALID', 401, { key: generateKeyPairSync('ed25519').privateKey }],
        ['SIGNATURE_EXPIRED', 401, { sign: { created: Math.floor(Date.now() / 1000) - 3600, expires: Math.floor(Date.now() / 1000) - 3000 } }],
        ['SIGNATURE_COMPONENT_MISSING', 401, { sign: { components: ['@method'] } }],
        // Signed over one body's Content-Digest, sent with another body.
        ['CONTENT_DIGEST_MISMATCH', 400, { sendBody: JSON.stringify({ customer: { address }, amount: 99_999, currency: 'EUR' }) }],
      ];
      for (const [expected, status, opts] of cases) {
        const r = await raw(opts);
        assert.equal(r.body.error?.code, expected, `${expected}: got ${JSON.stringify(r.body)}`);
        assert.equal(r.status, status, expected);
      }
      const nonce = randomUUID();
      assert.equal((await raw({ sign: { nonce } })).status, 201);
      const replay = await raw({ sign: { nonce } });
      assert.equal(replay.body.error?.code, 'SIGNATURE_NONCE_REUSED');
    });

    it('a purchase spends its nonce with its key: a replay, a refused body, a bad key, a taken key, and eight at once', async () => {
      const count = async () => (await m.t.gateway.context.store.db.selectFrom('authorizations').select((eb) => eb.fn.countAll<number>().as('n')).where('merchant_id', '=', m.merchantId).executeTakeFirstOrThrow()).n;
      const before = Number(await count());
      // The same signed request twice: the nonce, written in the key's statement, refuses the second.
      const n1 = randomUUID();
      const k1 = randomUUID();
      assert.equal((await raw({ sign: { nonce: n1 }, headers: { 'idempotency-key': k1 } })).status, 201);
      assert.equal((await raw({ sign: { nonce: n1 }, headers: { 'idempotency-key': k1 } })).body.error?.code, 'SIGNATURE_NONCE_REUSED');
      // A new nonce with the taken key gets the stored answer, and its nonce is spent even so.
      const n2 = randomUUID();
      assert.equal((await raw({ sign: { nonce: n2 }, headers: { 'idempotency-key': k1 } })).status, 201);
      assert.equal((await raw({ sign: { nonce: n2 }, headers: { 'idempotency-key': k1 } })).body.error?.code, 'SIGNATURE_NONCE_REUSED');
      // A body refused before the key is taken, and a malformed key: both spend the nonce.
      const n3 = randomUUID();
      assert.equal((await raw({ sign: { nonce: n3 }, body: JSON.stringify({ customer: { address }, amount: -1, currency: 'EUR' }) })).status, 400);
      assert.equal((await raw({ sign: { nonce: n3 } })).body.error?.code, 'SIGNATURE_NONCE_REUSED');
      const n4 = randomUUID();
      assert.equal((await raw({ sign: { nonce: n4 }, headers: { 'idempotency-key': 'k'.repeat(300) } })).body.error?.code, 'FIELD_INVALID');
      assert.equal((await raw({ sign: { nonce: n4 } })).body.error?.code, 'SIGNATURE_NONCE_REUSED');
      // Eight copies of one signed request at once, then eight with one nonce and eight keys: one purchase each time.
      const n5 = randomUUID();
      const k5 = randomUUID();
      const same = await Promise.all(Array.from({ length: 8 }, () => raw({ sign: { nonce: n5 }, headers: { 'idempotency-key': k5 } })));
      assert.deepEqual(same.map((r) => r.status).sort(), [201, 401, 401, 401, 401, 401, 401, 401]);
      assert.ok(same.filter((r) => r.status === 401).every((r) => r.body.error?.code === 'SIGNATURE_NONCE_REUSED'));
      const n6 = randomUUID();
      const keys = await Promise.all(Array.from({ length: 8 }, () => raw({ sign: { nonce: n6 } })));
      assert.deepEqual(keys.map((r) => r.status).sort(), [201, 401, 401, 401, 401, 401, 401, 401]);
      assert.equal(Number(await count()) - before, 3, 'one authorization for k1, one for k5, one for the nonce n6');
    });

    it('certification: an uncertified merchant and a revoked one are refused with 403', async () => {
      const ctx = m.t.gateway.context;
      const pending = await ctx.merchants.add({ name: 'Pending Shop' });
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      await ctx.merchants.addKey(pending.id, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'pending-key' });
      const r = await raw({ key: privateKey, keyid: 'pending-key' });
      assert.deepEqual([r.status, r.body.error?.code], [403, 'MERCHANT_NOT_CERTIFIED']);
      await ctx.merchants.revoke(pending.id);
      const r2 = await raw({ key: privateKey, keyid: 'pending-key' });
      assert.deepEqual([r2.status, r2.body.error?.code], [403, 'MERCHANT_REVOKED']);
      // A revoked key of a certified merchant is unknown from the next request on.
      const other = generateKeyPairSync('ed25519');
      await ctx.merchants.addKey(m.merchantId, { publicKey: other.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'rotated-key' });
      assert.equal((await raw({ key: other.privateKey, keyid: 'rotated-key' })).status, 201, 'several keys can be active');
      await ctx.merchants.revokeKey(m.merchantId, 'rotated-key');
      assert.equal((await raw({ key: other.privateKey, keyid: 'rotated-key' })).body.error?.code, 'SIGNATURE_KEY_UNKNOWN');
    });

    it('requests: malformed JSON, unknown fields, wrong types, bad amounts and currencies, bad addresses, size limit, idempotency', async () => {
      const body = (b: unknown) => JSON.stringify(b);
      const cases: Array<[string, number, string, string?]> = [
        ['BODY_MALFORMED', 400, '{"customer":'],
        ['BODY_MALFORMED', 400, '[1,2]'],
        ['FIELD_UNKNOWN', 400, body({ customer: { address }, amount: 100, currency: 'EUR', tip: 5 }), 'tip'],
        ['FIELD_UNKNOWN', 400, body({ customer: { address, mac: 'x' }, amount: 100, currency: 'EUR' }), 'customer.mac'],
        ['FIELD_INVALID', 400, body({ amount: 100, currency: 'EUR' }), 'customer'],
        ['FIELD_INVALID', 400, body({ customer: { address, port: 70000 }, amount: 100, currency: 'EUR' }), 'customer.port'],
        ['FIELD_INVALID', 400, body({ customer: { address }, amount: 100, currency: 'EUR', capture: 'later' }), 'capture'],
        ['AMOUNT_INVALID', 400, body({ customer: { address }, amount: -5, currency: 'EUR' }), 'amount'],
        ['AMOUNT_INVALID', 400, body({ customer: { address }, amount: 0, currency: 'EUR' }), 'amount'],
        ['AMOUNT_INVALID', 400, body({ customer: { address }, amount: 10.5, currency: 'EUR' }), 'amount'],
        ['AMOUNT_INVALID', 400, body({ customer: { address }, amount: 1e15, currency: 'EUR' }), 'amount'],
        ['AMOUNT_INVALID', 400, body({ customer: { address }, amount: '100', currency: 'EUR' }), 'amount'],
        ['CURRENCY_UNKNOWN', 400, body({ customer: { address }, amount: 100, currency: 'XYZ' }), 'currency'],
        ['ADDRESS_INVALID', 400, body({ customer: { address: '300.1.2.3' }, amount: 100, currency: 'EUR' }), 'customer.address'],
        ['CUSTOMER_NOT_FOUND', 404, body({ customer: { address: '192.0.2.254' }, amount: 100, currency: 'EUR' })],
        ['BODY_TOO_LARGE', 413, body({ customer: { address }, amount: 100, currency: 'EUR', description: 'x'.repeat(20_000) })],
      ];
      for (const [expected, status, b, param] of cases) {
        const r = await raw({ body: b });
        assert.equal(r.body.error?.code, expected, `${expected} for ${b.slice(0, 60)}: got ${JSON.stringify(r.body)}`);
        assert.equal(r.status, status, expected);
        if (param) assert.equal(r.body.error?.param, param);
      }
      const none = await raw({ mutate: () => {}, headers: { 'idempotency-key': '' } });
      assert.equal(none.body.error?.code, 'IDEMPOTENCY_KEY_MISSING');
      const key = randomUUID();
      const first = await raw({ headers: { 'idempotency-key': key } });
      const replay = await raw({ headers: { 'idempotency-key': key } });
      assert.deepEqual(replay.body, first.body, 'the stored first response is replayed');
      const changed = await raw({ headers: { 'idempotency-key': key }, body: JSON.stringify({ customer: { address }, amount: 101, currency: 'EUR' }) });
      assert.equal(changed.body.error?.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal((await raw({ method: 'GET', path: '/v1/authorizations/auth_nope', body: '' })).body.error?.code, 'AUTHORIZATION_NOT_FOUND');
    });

    it('outcomes: each decline and pending reason, with nothing held for a decline', async () => {
      const ctx = m.t.gateway.context;
      const create = (addr: string, amount: number, extra: object = {}) => m.client.authorizations.create({ customer: { address: addr }, amount, currency: 'EUR', ...extra });
      // Nobody visited the shop from this session.
      const lurker = await shopper(m, 'lurker', { visit: false });
      assert.equal((await create(lurker.address, 100)).reason, 'DESTINATION_NOT_VISITED');

      assert.equal((await create(address, 6_000)).reason, 'CONFIRMATION_REQUIRED');
      assert.equal((await create(address, 4_999)).reason, 'SPENDING_LIMIT_EXCEEDED', '6000 is held by the pending one; 10000 is the limit');
      const big = await shopper(m, 'big', { spendingLimit: 100_000, autoApproveLimit: 100_000, card: { number: testCardNumber(31), expiry: futureExpiry(), creditLimit: 1_000 } });
      assert.equal((await create(big.address, 2_000)).reason, 'CREDIT_LIMIT_EXCEEDED');
      const nocard = await shopper(m, 'nocard');
      assert.equal((await create(nocard.address, 100)).reason, 'NO_CARD_ON_FILE');
      assert.equal((await create(nocard.address, 100, { settlement: 'merchant_bill' })).reason, 'MERCHANT_BILLING_NOT_ALLOWED');
      assert.equal((await create(nocard.address, 100, { settlement: 'provider_bill', currency: 'USD' })).reason, 'CURRENCY_MISMATCH');
      const declinedCard = await shopper(m, 'declinedcard', { card: { number: '4000000000000002', expiry: futureExpiry() } });
      assert.equal((await create(declinedCard.address, 100)).reason, 'CARD_DECLINED');
      await ctx.subscribers.suspend('nocard');
      assert.equal((await create(nocard.address, 100, { settlement: 'provider_bill' })).reason, 'SUBSCRIBER_NOT_ACTIVE');

      // Declines hold nothing.
      const used = await ctx.store.db.selectFrom('subscribers').select(['login', 'amount_used']).where('login', 'in', ['lurker', 'nocard', 'declinedcard', 'big']).execute();
      assert.ok(used.every((u) => u.amount_used === 0));

      // The subscriber's answer to a pending purchase: no to the first, yes to the next.
      const operator = (path: string) => fetch(`http://${m.t.gateway.listen.operatorHttp}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${m.t.token}` } }).then((r) => r.json() as Promise<{ status: string; reason: string }>);
      const [first] = (await m.client.authorizations.list({ status: 'pending' })).data;
      assert.equal((await operator(`/authorizations/${first!.id}/decline`)).reason, 'SUBSCRIBER_DECLINED');
      const waiting = await create(address, 5_500, { capture: 'automatic' });
      assert.equal(waiting.status, 'pending');
      assert.equal((await operator(`/authorizations/${waiting.id}/approve`)).status, 'captured', 'approved, then captured automatically');

      // Nobody confirms: the pending purchase expires.
      const late = await shopper(m, 'late', { autoApproveLimit: null, card: { number: testCardNumber(32), expiry: futureExpiry() } });
      const asked = await create(late.address, 100);
      await m.t.gateway.certification.authorizations.lifecycle.expireDue(Date.now() + 3_600_000);
      const expired = await m.client.authorizations.retrieve(asked.id);
      assert.deepEqual([expired.status, expired.reason], ['declined', 'CONFIRMATION_EXPIRED']);
    });

    it('lifecycle errors: capture too much, refund too much, capture a declined one', async () => {
      const a = await m.client.authorizations.create({ customer: { address }, amount: 300, currency: 'EUR' });
      assert.equal(a.status, 'approved');
      await assert.rejects(m.client.authorizations.capture(a.id, { amount: 301 }), (e) => code(e) === 'CAPTURE_EXCEEDS_AUTHORIZED');
      await assert.rejects(m.client.authorizations.refund(a.id, { amount: 1 }), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      await m.client.authorizations.capture(a.id, { amount: 200 });
      await assert.rejects(m.client.authorizations.refund(a.id, { amount: 201 }), (e) => code(e) === 'REFUND_EXCEEDS_CAPTURED');
      const voided = await m.client.authorizations.void(a.id);
      assert.deepEqual([voided.status, voided.capturedAmount], ['captured', 200]);
      await assert.rejects(m.client.authorizations.capture(a.id), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      const other = new SidebandClient({ baseUrl: base, keyId: m.keyId, privateKey: m.privateKey });
      await assert.rejects(other.authorizations.retrieve('auth_missing'), (e) => code(e) === 'AUTHORIZATION_NOT_FOUND');
    });
  });
}
