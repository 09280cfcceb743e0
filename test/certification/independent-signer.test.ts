import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSigner, httpbis } from 'http-message-signatures';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';

/**
 * Requests signed by the npm package `http-message-signatures` — an implementation of
 * RFC 9421 that shares no code with Sideband — are accepted; tampered ones are refused.
 */
describe('requests signed by an independent RFC 9421 implementation', () => {
  let m: MerchantSetup;
  let address: string;

  before(async () => {
    m = await merchantSetup('sqlite', 'independent-signer');
    address = (await shopper(m, 'mira')).address;
  });
  after(async () => m?.dispose());

  const signWithLibrary = async (body: string, nonce = randomUUID()) => {
    const url = `http://${m.t.gateway.listen.merchantHttp}/v1/authorizations`;
    const digest = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
    const request = { method: 'POST', url, headers: { 'content-type': 'application/json', 'content-digest': digest, 'idempotency-key': randomUUID() } as Record<string, string> };
    const now = new Date();
    const signed = await httpbis.signMessage({
      key: createSigner(m.privateKey, 'ed25519', m.keyId),
      fields: ['@method', '@target-uri', 'content-digest', 'idempotency-key'],
      params: ['created', 'expires', 'nonce', 'keyid'],
      paramValues: { created: now, expires: new Date(now.getTime() + 120_000), nonce },
    }, request);
    const headers = Object.fromEntries(Object.entries(signed.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    return { url, headers };
  };

  it('accepts a request the library signed', async () => {
    const body = JSON.stringify({ customer: { address }, amount: 250, currency: 'EUR', settlement: 'provider_bill' });
    const { url, headers } = await signWithLibrary(body);
    const res = await fetch(url, { method: 'POST', headers, body });
    const json = (await res.json()) as { status?: string; error?: unknown };
    assert.equal(res.status, 201, JSON.stringify(json));
    assert.equal(json.status, 'approved');
  });

  it('refuses the library\'s signature once it is tampered with, or the body changed', async () => {
    const body = JSON.stringify({ customer: { address }, amount: 260, currency: 'EUR', settlement: 'provider_bill' });
    const { url, headers } = await signWithLibrary(body);
    const sig = headers.signature!;
    const flipped = sig.replace(/:([A-Za-z0-9+/])/, (_m, c: string) => `:${c === 'A' ? 'B' : 'A'}`);
    const tampered = await fetch(url, { method: 'POST', headers: { ...headers, signature: flipped }, body });
    assert.equal(tampered.status, 401);
    assert.equal(((await tampered.json()) as { error: { code: string } }).error.code, 'SIGNATURE_INVALID');
    const again = await signWithLibrary(body);
    const swapped = await fetch(url, { method: 'POST', headers: again.headers, body: body.replace('260', '26000') });
    assert.equal(((await swapped.json()) as { error: { code: string } }).error.code, 'CONTENT_DIGEST_MISMATCH');
  });
});
