import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signRequest, SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { RequestAuthentication } from '../../../src/certification/api/request-authentication.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import type { Store } from '../../../src/store/open-store.ts';
import { dialects } from '../../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../../support/merchant-harness.ts';

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const code = (e: unknown) => (e instanceof SidebandApiError || e instanceof SidebandError ? e.code : String(e));

/** The same store, counting every query compiled against it. */
function countingStore(store: Store): { store: Store; queries: () => number } {
  let n = 0;
  // Counted as results come back, so that statements run from fixed SQL text (no query
  // tree for transformQuery to see) count as well.
  const db = store.db.withPlugin({
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      n++;
      return args.result;
    },
  });
  return { store: { ...store, db }, queries: () => n };
}

/**
 * A revoked key or merchant stops working at the next request, whichever process revoked
 * it: the status is read on every request. Key ids that do not exist are remembered for a
 * few seconds, so forged requests do not each cost a query, and a key added meanwhile is
 * accepted once that brief memory has passed.
 */
for (const dialect of dialects) {
  describe(`key and merchant status, read on every request, on ${dialect}`, () => {
    let m: MerchantSetup;
    let address: string;

    before(async () => {
      m = await merchantSetup(dialect, `key-status-${dialect}`, { settlement: 'provider_bill' });
      address = (await shopper(m, 'ulla')).address;
    });
    after(async () => m?.dispose());

    const clientFor = (keyId: string, privateKey: KeyObject) => new SidebandClient({ baseUrl: `http://${m.t.gateway.listen.merchantHttp}`, keyId, privateKey, maxRetries: 0 });
    const buy = (client: SidebandClient) => client.authorizations.create({ customer: { address }, amount: 100, currency: 'EUR', settlement: 'provider_bill' });

    it('a revoked key is refused at the very next request; the merchant\'s other key keeps working', async () => {
      const second = generateKeyPairSync('ed25519');
      await m.t.gateway.context.merchants.addKey(m.merchantId, { publicKey: pem(second.publicKey), keyId: `second-${dialect}` });
      const client = clientFor(`second-${dialect}`, second.privateKey);
      assert.equal((await buy(client)).status, 'approved');
      await m.t.gateway.context.merchants.revokeKey(m.merchantId, `second-${dialect}`);
      await assert.rejects(buy(client), (e) => code(e) === 'SIGNATURE_KEY_UNKNOWN');
      assert.equal((await buy(m.client)).status, 'approved');
    });

    it('a revoked merchant is refused at the very next request', async () => {
      const ctx = m.t.gateway.context;
      const other = await ctx.merchants.add({ name: `Revoked Shop ${dialect}`, settlement: 'provider_bill' });
      const keys = generateKeyPairSync('ed25519');
      await ctx.merchants.addKey(other.id, { publicKey: pem(keys.publicKey), keyId: `revoked-shop-${dialect}` });
      await ctx.merchants.addNetwork(other.id, '203.0.113.0/24');
      await ctx.merchants.certify(other.id);
      const client = clientFor(`revoked-shop-${dialect}`, keys.privateKey);
      assert.equal((await buy(client)).status, 'approved');
      await ctx.merchants.revoke(other.id);
      await assert.rejects(buy(client), (e) => code(e) === 'MERCHANT_REVOKED');
    });

    describe('unknown key ids', () => {
      const TTL = 3000;
      const t0 = Date.now();
      /** A request signed at `at` (ms) by `keyid`, for RequestAuthentication directly. */
      const signedAt = (at: number, keyid: string, privateKey: KeyObject) => {
        const url = 'https://pay.isp.example/v1/authorizations?limit=1';
        const signed = signRequest({ method: 'GET', url, headers: {}, body: '' }, { privateKey, keyid, created: Math.floor(at / 1000) });
        return { method: 'GET', url, body: Buffer.alloc(0), headers: { 'content-digest': signed.contentDigest!, 'signature-input': signed.signatureInput, signature: signed.signature } };
      };
      const forger = generateKeyPairSync('ed25519').privateKey;
      const attempt = (auth: RequestAuthentication, at: number, keyid: string, key = forger) => auth.authenticate(signedAt(at, keyid, key), at).then(() => 'accepted', code);

      it('one made-up key id costs one query, however often it is tried', async () => {
        const counting = countingStore(m.t.gateway.context.store);
        const auth = new RequestAuthentication(counting.store, 300, { unknownKeyMs: TTL });
        assert.equal(await attempt(auth, t0, 'made-up'), 'SIGNATURE_KEY_UNKNOWN');
        const afterFirst = counting.queries();
        assert.equal(afterFirst, 1);
        for (let i = 0; i < 50; i++) assert.equal(await attempt(auth, t0 + i, 'made-up'), 'SIGNATURE_KEY_UNKNOWN');
        assert.equal(counting.queries(), afterFirst, 'no query for a remembered miss');
      });

      it('a flood of random key ids stops costing queries, and the registered keys keep working through it', async () => {
        const counting = countingStore(m.t.gateway.context.store);
        const auth = new RequestAuthentication(counting.store, 300, { unknownKeyMs: TTL });
        for (let i = 0; i < 200; i++) assert.equal(await attempt(auth, t0, `random-${randomUUID()}`), 'SIGNATURE_KEY_UNKNOWN');
        const afterFlood = counting.queries();
        assert.ok(afterFlood < 200, `${afterFlood} queries for 200 forged key ids`);
        for (let i = 0; i < 200; i++) assert.equal(await attempt(auth, t0, `random-${randomUUID()}`), 'SIGNATURE_KEY_UNKNOWN');
        assert.equal(counting.queries(), afterFlood, 'once the flood is seen, forged ids cost nothing');
        assert.equal(await attempt(auth, t0, m.keyId, m.privateKey), 'accepted');
      });

      it('a miss outlives the addition of its key by at most the brief memory', async () => {
        const auth = new RequestAuthentication(m.t.gateway.context.store, 300, { unknownKeyMs: TTL });
        const late = generateKeyPairSync('ed25519');
        const keyId = `late-${dialect}`;
        assert.equal(await attempt(auth, t0, keyId, late.privateKey), 'SIGNATURE_KEY_UNKNOWN');
        await m.t.gateway.context.merchants.addKey(m.merchantId, { publicKey: pem(late.publicKey), keyId });
        assert.equal(await attempt(auth, t0 + TTL - 1, keyId, late.privateKey), 'SIGNATURE_KEY_UNKNOWN', 'still remembered as missing');
        assert.equal(await attempt(auth, t0 + TTL, keyId, late.privateKey), 'accepted', 'forgotten after the brief memory');
      });

      it('during a flood, a key added after the snapshot is accepted once the snapshot is that old', async () => {
        const auth = new RequestAuthentication(m.t.gateway.context.store, 300, { unknownKeyMs: TTL });
        for (let i = 0; i < 150; i++) await attempt(auth, t0, `flood-${randomUUID()}`);
        const added = generateKeyPairSync('ed25519');
        const keyId = `during-flood-${dialect}`;
        await m.t.gateway.context.merchants.addKey(m.merchantId, { publicKey: pem(added.publicKey), keyId });
        assert.equal(await attempt(auth, t0 + 1, keyId, added.privateKey), 'SIGNATURE_KEY_UNKNOWN');
        // A refusal by the snapshot does not extend its life: still bounded by the read at t0.
        assert.equal(await attempt(auth, t0 + TTL - 1, keyId, added.privateKey), 'SIGNATURE_KEY_UNKNOWN');
        assert.equal(await attempt(auth, t0 + TTL, keyId, added.privateKey), 'accepted');
      });
    });
  });
}
