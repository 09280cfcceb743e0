// Interoperability with an independent implementation, the npm package
// http-message-signatures (dhensby/node-http-message-signatures): what either side signs,
// the other verifies, and tampering is caught.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { contentDigest, signRequest, verifyRequestSignature, type VerifyOptions } from '@sideband/http-signatures';
import { b26, exampleRequest, testKeyEd25519Private, testKeyEd25519Public } from './rfc-9421-examples.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyid = 'merchant-1';
const body = '{"amount":1250,"currency":"EUR","reference":"order-77"}';
const digest = contentDigest(new TextEncoder().encode(body));
const request = {
  method: 'POST',
  url: 'https://gateway.example:8443/v1/purchases?merchant=7&retry=0',
  headers: { 'content-type': 'application/json', 'content-digest': digest, 'x-request-id': 'r-1' },
};
const allComponents = ['@method', '@target-uri', '@authority', '@scheme', '@path', '@query', '@request-target', 'content-digest', 'content-type', 'x-request-id'];
const ours: VerifyOptions = { resolveKey: (id) => (id === keyid ? publicKey : null) };

/** Their signer, with the parameters Sideband's gateway requires. Their verifier reads the clock, so signatures are made now. */
async function signWithTheirs(fields: string[] = allComponents, extraParams: string[] = []): Promise<Record<string, string>> {
  const created = new Date();
  const signed = await httpbis.signMessage(
    {
      key: createSigner(privateKey, 'ed25519', keyid),
      name: 'sig1',
      fields,
      params: ['created', 'expires', 'nonce', 'keyid', ...extraParams],
      paramValues: { created, expires: new Date(created.getTime() + 300_000), nonce: 'their-nonce-1' },
    },
    { ...request },
  );
  return signed.headers as Record<string, string>;
}

function theirVerifyConfig(key = publicKey) {
  return {
    keyLookup: async (params: { keyid?: string }) => (params.keyid === keyid ? { id: keyid, algs: ['ed25519'], verify: createVerifier(key, 'ed25519') } : null),
    requiredFields: ['@method', '@target-uri', 'content-digest'],
    requiredParams: ['created', 'expires', 'nonce', 'keyid'],
    maxAge: 300,
    tolerance: 30,
  };
}

describe('interop: signed by http-message-signatures, verified by Sideband', () => {
  it('accepts their signature over every component both support', async () => {
    const headers = await signWithTheirs();
    assert.ok(headers['Signature-Input']!.startsWith('sig1=("@method" "@target-uri" "@authority"'));
    const result = await verifyRequestSignature({ ...request, headers, body }, ours);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.nonce, 'their-nonce-1');
    assert.deepEqual(result.components, allComponents);
  });

  it('accepts their signature with alg="ed25519"', async () => {
    const headers = await signWithTheirs(['@method', '@target-uri', 'content-digest'], ['alg']);
    assert.match(headers['Signature-Input']!, /;alg="ed25519"/);
    const result = await verifyRequestSignature({ ...request, headers, body }, ours);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.alg, 'ed25519');
  });

  it('refuses their signature with a flipped bit as signature-invalid', async () => {
    const headers = await signWithTheirs();
    const bytes = Buffer.from(headers.Signature!.slice('sig1=:'.length, -1), 'base64');
    bytes[0]! ^= 0x80;
    const result = await verifyRequestSignature({ ...request, headers: { ...headers, Signature: `sig1=:${bytes.toString('base64')}:` }, body }, ours);
    assert.equal(result.ok ? 'accepted' : result.reason, 'signature-invalid');
  });

  it('refuses a changed body as content-digest-mismatch', async () => {
    const headers = await signWithTheirs();
    const result = await verifyRequestSignature({ ...request, headers, body: body.replace('1250', '125000') }, ours);
    assert.equal(result.ok ? 'accepted' : result.reason, 'content-digest-mismatch');
  });

  it('refuses a changed method as signature-invalid', async () => {
    const headers = await signWithTheirs();
    const result = await verifyRequestSignature({ ...request, method: 'PUT', headers, body }, ours);
    assert.equal(result.ok ? 'accepted' : result.reason, 'signature-invalid');
  });

  it('refuses their signature without content-digest as component-missing', async () => {
    const headers = await signWithTheirs(['@method', '@target-uri']);
    const result = await verifyRequestSignature({ ...request, headers, body }, ours);
    assert.equal(result.ok ? 'accepted' : result.reason, 'component-missing');
  });

  it('agrees with the RFC 9421 B.2.6 signature when they sign the example request', async () => {
    const signed = await httpbis.signMessage(
      {
        key: createSigner(testKeyEd25519Private, 'ed25519', b26.keyid),
        name: b26.label,
        fields: [...b26.components],
        params: ['created', 'keyid'],
        paramValues: { created: new Date(b26.created * 1000) },
      },
      { method: exampleRequest.method, url: exampleRequest.url, headers: { ...exampleRequest.headers } },
    );
    const headers = signed.headers as Record<string, string>;
    assert.equal(headers['Signature-Input'], b26.signatureInput);
    assert.equal(headers.Signature, b26.signature);
    const result = await verifyRequestSignature(
      { ...exampleRequest, headers },
      { resolveKey: () => testKeyEd25519Public, now: new Date(b26.created * 1000), requiredComponents: [], requiredParams: ['created'] },
    );
    assert.ok(result.ok, JSON.stringify(result));
  });
});

describe('interop: signed by Sideband, verified by http-message-signatures', () => {
  function signWithOurs(components: string[] = allComponents) {
    const signed = signRequest({ ...request, body }, { privateKey, keyid, components });
    return { ...request.headers, 'signature-input': signed.signatureInput, signature: signed.signature };
  }

  it('their verifier accepts our signature over every component both support', async () => {
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { ...request, headers: signWithOurs() }), true);
  });

  it('their verifier accepts our default signature, with the Content-Digest we computed', async () => {
    const signed = signRequest({ method: 'POST', url: 'https://gateway.example/v1/purchases', headers: {}, body }, { privateKey, keyid, alg: 'ed25519' });
    const headers = { 'content-digest': signed.contentDigest!, 'signature-input': signed.signatureInput, signature: signed.signature };
    assert.equal(signed.contentDigest, contentDigest(new TextEncoder().encode(body)));
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { method: 'POST', url: 'https://gateway.example/v1/purchases', headers }), true);
  });

  it('their verifier refuses our signature with a changed method, URI, covered header or bit', async () => {
    const headers = signWithOurs();
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { ...request, method: 'PUT', headers }), false);
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { ...request, url: request.url.replace('retry=0', 'retry=1'), headers }), false);
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { ...request, headers: { ...headers, 'x-request-id': 'r-2' } }), false);
    const bytes = Buffer.from(headers.signature.slice('sig1=:'.length, -1), 'base64');
    bytes[63]! ^= 1;
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(), { ...request, headers: { ...headers, signature: `sig1=:${bytes.toString('base64')}:` } }), false);
  });

  it('their verifier refuses our signature under another key', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    assert.equal(await httpbis.verifyMessage(theirVerifyConfig(other), { ...request, headers: signWithOurs() }), false);
  });
});
