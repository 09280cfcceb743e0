import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { SigningError, signRequest, verifyRequestSignature, type SignRequestOptions, type HttpRequest } from '@sideband/http-signatures';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const created = 1_750_000_000;
const base = { privateKey, keyid: 'merchant-1', created } satisfies SignRequestOptions;
const post: HttpRequest = {
  method: 'POST',
  url: 'https://gateway.example/v1/purchases',
  headers: { 'Content-Type': 'application/json' },
  body: '{"amount":1250}',
};

function baseLines(request: HttpRequest, options: Partial<SignRequestOptions> = {}): string[] {
  return signRequest(request, { ...base, nonce: null, expires: null, ...options }).signatureBase.split('\n');
}

function refusesWith(reason: string, fn: () => unknown): void {
  assert.throws(fn, (error) => error instanceof SigningError && error.reason === reason, reason);
}

describe('request signing: defaults', () => {
  it('covers @method, @target-uri and content-digest for a request with a body, and computes the digest', () => {
    const signed = signRequest(post, base);
    assert.equal(signed.contentDigest, 'sha-256=:n7QBBcVicaydao2gpvWE3ZAdZuTVUIFoQWClvGCMewg=:');
    assert.match(signed.signatureInput, /^sig1=\("@method" "@target-uri" "content-digest"\);created=1750000000;expires=1750000300;nonce="[A-Za-z0-9_-]{22}";keyid="merchant-1"$/);
    assert.match(signed.signature, /^sig1=:[A-Za-z0-9+/]{86}==:$/);
    const lines = signed.signatureBase.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      '"@method": POST',
      '"@target-uri": https://gateway.example/v1/purchases',
      `"content-digest": ${signed.contentDigest}`,
    ]);
    assert.ok(lines[3]!.startsWith('"@signature-params": ("@method" "@target-uri" "content-digest");created=1750000000;'));
    assert.equal(lines.length, 4, 'no trailing newline');
  });

  it('covers only @method and @target-uri for a request without a body', () => {
    const signed = signRequest({ method: 'GET', url: 'https://gateway.example/v1/purchases/7', headers: {} }, base);
    assert.equal(signed.contentDigest, undefined);
    assert.ok(signed.signatureInput.startsWith('sig1=("@method" "@target-uri");'));
  });

  it('makes a fresh nonce for every signature', () => {
    const nonces = new Set(Array.from({ length: 20 }, () => /nonce="([^"]+)"/.exec(signRequest(post, base).signatureInput)![1]));
    assert.equal(nonces.size, 20);
  });

  it('uses the current time when created is not given', () => {
    const before = Math.floor(Date.now() / 1000);
    const { signatureInput } = signRequest(post, { privateKey, keyid: 'k' });
    const stamped = Number(/created=(\d+)/.exec(signatureInput)![1]);
    assert.ok(stamped >= before && stamped <= before + 2);
  });

  it('writes alg, tag, a chosen label, and leaves out expires and nonce when told to', () => {
    const { signatureInput } = signRequest(post, { ...base, label: 'merchant', alg: 'ed25519', tag: 'sideband', expires: null, nonce: null });
    assert.equal(signatureInput, 'merchant=("@method" "@target-uri" "content-digest");created=1750000000;keyid="merchant-1";alg="ed25519";tag="sideband"');
  });

  it('keeps a Content-Digest the request already carries when it matches the body', () => {
    const digest = 'sha-512=:' + Buffer.from(new Uint8Array(64)).toString('base64') + ':';
    refusesWith('content-digest-mismatch', () => signRequest({ ...post, headers: { ...post.headers, 'Content-Digest': digest } }, base));
    const good = signRequest(post, base).contentDigest!;
    const signed = signRequest({ ...post, headers: { ...post.headers, 'Content-Digest': good } }, base);
    assert.equal(signed.contentDigest, undefined);
    assert.ok(signed.signatureBase.includes(`"content-digest": ${good}`));
  });
});

describe('request signing: component values (RFC 9421 §2.1, §2.2)', () => {
  it('uppercases @method and lowercases component names', () => {
    const lines = baseLines({ ...post, method: 'patch' }, { components: ['@Method', 'Content-Type'] });
    assert.deepEqual(lines.slice(0, 2), ['"@method": PATCH', '"content-type": application/json']);
  });

  it('trims field values, joins repeated lines with ", ", and treats differently cased names as one field', () => {
    const request = { method: 'GET', url: 'https://a.example/', headers: { 'X-List': ['  one ', 'two\t'], 'x-list': ' three', 'Cache-Control': 'max-age=60' } };
    assert.deepEqual(baseLines(request, { components: ['x-list', 'cache-control'] }).slice(0, 2), ['"x-list": one, two, three', '"cache-control": max-age=60']);
  });

  it('replaces obsolete line folding with one space (RFC 9421 §2.1 step 3)', () => {
    const request = { method: 'GET', url: 'https://a.example/', headers: { 'x-obs-fold-header': 'Obsolete\r\n    line folding.' } };
    assert.equal(baseLines(request, { components: ['x-obs-fold-header'] })[0], '"x-obs-fold-header": Obsolete line folding.');
  });

  it('signs an empty field as an empty value', () => {
    const request = { method: 'GET', url: 'https://a.example/', headers: { 'x-empty-header': '' } };
    assert.equal(baseLines(request, { components: ['x-empty-header'] })[0], '"x-empty-header": ');
  });

  it('derives the URI components from the URL as fetch sends it', () => {
    const request = { method: 'GET', url: 'HTTPS://Shop.Example:443/a%2Fb c?q=1&r=%20#fragment', headers: {} };
    const components = ['@target-uri', '@scheme', '@authority', '@path', '@query', '@request-target'];
    assert.deepEqual(baseLines(request, { components }).slice(0, 6), [
      '"@target-uri": https://shop.example/a%2Fb%20c?q=1&r=%20',
      '"@scheme": https',
      '"@authority": shop.example',
      '"@path": /a%2Fb%20c',
      '"@query": ?q=1&r=%20',
      '"@request-target": /a%2Fb%20c?q=1&r=%20',
    ]);
  });

  it('keeps a non-default port in @authority and gives "?" for an absent query', () => {
    const request = { method: 'GET', url: 'http://127.0.0.1:8080', headers: {} };
    assert.deepEqual(baseLines(request, { components: ['@authority', '@path', '@query'] }).slice(0, 3), ['"@authority": 127.0.0.1:8080', '"@path": /', '"@query": ?']);
    const ipv6 = { method: 'GET', url: 'https://[2001:DB8::1]:8443/x', headers: {} };
    assert.equal(baseLines(ipv6, { components: ['@authority'] })[0], '"@authority": [2001:db8::1]:8443');
  });
});

describe('request signing: refusals', () => {
  it('key-unsupported: a public key, or a private key of another type', () => {
    refusesWith('key-unsupported', () => signRequest(post, { ...base, privateKey: publicKey }));
    refusesWith('key-unsupported', () => signRequest(post, { ...base, privateKey: generateKeyPairSync('x25519').privateKey }));
  });

  it('label-invalid: a label that is not an RFC 8941 key', () => {
    for (const label of ['Sig1', '1sig', 'sig 1', '']) refusesWith('label-invalid', () => signRequest(post, { ...base, label }));
  });

  it('param-invalid: values a signature parameter cannot hold', () => {
    refusesWith('param-invalid', () => signRequest(post, { ...base, keyid: 'key\nid' }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, keyid: '' }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, nonce: 'naïve' }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, created: -1 }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, created: 1.5 }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, expires: Number.MAX_VALUE }));
    refusesWith('param-invalid', () => signRequest(post, { ...base, alg: 'rsa-pss-sha512' as 'ed25519' }));
  });

  it('component-unsupported, component-duplicate, component-name-invalid', () => {
    for (const name of ['@status', '@signature-params', '@query-param', '@unknown']) {
      refusesWith('component-unsupported', () => signRequest(post, { ...base, components: ['@method', name] }));
    }
    refusesWith('component-duplicate', () => signRequest(post, { ...base, components: ['@method', 'content-type', 'Content-Type'] }));
    refusesWith('component-name-invalid', () => signRequest(post, { ...base, components: ['content type'] }));
    refusesWith('component-name-invalid', () => signRequest(post, { ...base, components: ['x-ü'] }));
  });

  it('component-unresolved: a covered header the request lacks', () => {
    refusesWith('component-unresolved', () => signRequest(post, { ...base, components: ['@method', 'date'] }));
  });

  it('component-value-invalid: a newline that is not a fold, or a character outside ASCII', () => {
    refusesWith('component-value-invalid', () => signRequest({ ...post, headers: { 'x-a': 'one\ntwo' } }, { ...base, components: ['x-a'] }));
    refusesWith('component-value-invalid', () => signRequest({ ...post, headers: { 'x-a': 'café' } }, { ...base, components: ['x-a'] }));
  });

  it('target-uri-invalid: a URI component over a URL that is not absolute http(s)', () => {
    refusesWith('target-uri-invalid', () => signRequest({ ...post, url: '/v1/purchases' }, base));
    refusesWith('target-uri-invalid', () => signRequest({ ...post, url: 'ftp://gateway.example/x' }, { ...base, components: ['@authority'] }));
    refusesWith('target-uri-invalid', () => signRequest({ ...post, url: 'https://user:pw@gateway.example/x' }, { ...base, components: ['@path'] }));
  });
});

describe('request signing: round trip', () => {
  it('what the signer makes, the verifier accepts under the gateway defaults', async () => {
    const now = new Date(created * 1000 + 5_000);
    const signed = signRequest(post, base);
    const headers = { ...post.headers, 'content-digest': signed.contentDigest, 'signature-input': signed.signatureInput, signature: signed.signature };
    const result = await verifyRequestSignature({ ...post, headers }, { resolveKey: (keyid) => (keyid === 'merchant-1' ? { key: publicKey, merchantId: 42 } : null), now });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.resolved.merchantId, 42);
    assert.equal(result.created, created);
    assert.equal(result.expires, created + 300);
    assert.match(result.nonce!, /^[A-Za-z0-9_-]{22}$/);
  });
});
