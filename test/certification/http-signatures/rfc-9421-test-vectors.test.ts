import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequest, verifyRequestSignature, checkCoveredComponents, requestContext, createSignatureBase, signatureParameters } from '@sideband/http-signatures';
import { innerList, item } from '@sideband/http-signatures/structured-fields';
import { b26, exampleRequest, section25, testKeyEd25519Private, testKeyEd25519Public } from './rfc-9421-examples.ts';

const atB26 = new Date(b26.created * 1000);

function signB26() {
  return signRequest(exampleRequest, {
    privateKey: testKeyEd25519Private,
    keyid: b26.keyid,
    label: b26.label,
    components: b26.components,
    created: b26.created,
    expires: null,
    nonce: null,
  });
}

describe('RFC 9421 Appendix B.2.6 (ed25519)', () => {
  it('the signer builds the published signature base exactly', () => {
    assert.equal(signB26().signatureBase, b26.signatureBase);
  });

  it('the signer writes the published Signature-Input and, Ed25519 being deterministic, the published Signature', () => {
    const signed = signB26();
    assert.equal(signed.signatureInput, b26.signatureInput);
    assert.equal(signed.signature, b26.signature);
    assert.equal(signed.contentDigest, undefined, 'the request already carries a Content-Digest');
  });

  it('the verifier accepts the published signature', async () => {
    const result = await verifyRequestSignature(
      { ...exampleRequest, headers: { ...exampleRequest.headers, 'Signature-Input': b26.signatureInput, Signature: b26.signature } },
      {
        resolveKey: async (keyid) => (keyid === b26.keyid ? testKeyEd25519Public : null),
        now: atB26,
        requiredComponents: b26.components,
        requiredParams: ['created', 'keyid'],
      },
    );
    assert.deepEqual(result, {
      ok: true,
      label: 'sig-b26',
      keyid: 'test-key-ed25519',
      nonce: undefined,
      created: 1618884473,
      expires: undefined,
      alg: undefined,
      tag: undefined,
      components: b26.components,
      resolved: testKeyEd25519Public,
    });
  });

  it('the verifier refuses the published signature over a request changed in a covered field', async () => {
    const result = await verifyRequestSignature(
      { ...exampleRequest, headers: { ...exampleRequest.headers, 'Content-Length': '19', 'Signature-Input': b26.signatureInput, Signature: b26.signature } },
      { resolveKey: async () => testKeyEd25519Public, now: atB26, requiredComponents: [], requiredParams: ['created'] },
    );
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'signature-invalid');
  });
});

describe('RFC 9421 §2.5 example signature base', () => {
  it('is reproduced from the B.2 request', () => {
    const identifiers = section25.components.map((name) => item({ type: 'string', value: name }));
    assert.ok(checkCoveredComponents(identifiers).ok);
    const result = createSignatureBase(
      requestContext(exampleRequest.method, exampleRequest.url, exampleRequest.headers),
      innerList(identifiers, signatureParameters({ created: section25.created, keyid: section25.keyid })),
    );
    assert.deepEqual(result, { ok: true, base: section25.signatureBase });
  });
});
