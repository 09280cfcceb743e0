import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  contentDigest,
  signRequest,
  verificationFailures,
  verifyRequestSignature,
  type VerificationFailure,
  type VerifyOptions,
} from '@sideband/http-signatures';
import { type HttpRequest, requestContext, createSignatureBase } from '@sideband/http-signatures';
import { parseDictionary } from '@sideband/http-signatures/structured-fields';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const T = 1_750_000_000;
const now = new Date(T * 1000);
const body = '{"amount":1250,"currency":"EUR"}';
const digest = contentDigest(new TextEncoder().encode(body));
const request: HttpRequest = {
  method: 'POST',
  url: 'https://gateway.example/v1/purchases?ref=42',
  headers: { 'content-type': 'application/json', 'content-digest': digest },
  body,
};
const policy: VerifyOptions = { resolveKey: (keyid) => (keyid === 'merchant-1' ? publicKey : null), now };
const fullParams = `created=${T};expires=${T + 300};nonce="n-1";keyid="merchant-1"`;
const covered = '("@method" "@target-uri" "content-digest")';

/**
 * Signs a hand-written Signature-Input member over `target` with the test key, so that each
 * refusal below is caused by the one thing the case changes and not by a bad signature.
 * When the base cannot be built, the signature is 64 arbitrary octets.
 */
// A type alias, not an interface, so that it widens to a header record.
type SignatureFields = { readonly 'signature-input': string; readonly signature: string };

function handSigned(member: string, target: HttpRequest = request, label = 'sig1'): SignatureFields {
  const signatureInput = `${label}=${member}`;
  const parsed = parseDictionary(signatureInput, { maxLength: 8192 });
  let signature = Buffer.alloc(64, 7);
  if (parsed.ok) {
    const params = parsed.value.get(label);
    if (params?.kind === 'inner-list') {
      const url = typeof target.url === 'string' ? target.url : target.url.href;
      const base = createSignatureBase(requestContext(target.method, url, target.headers), params);
      if (base.ok) signature = sign(null, Buffer.from(base.base), privateKey);
    }
  }
  return { 'signature-input': signatureInput, signature: `${label}=:${signature.toString('base64')}:` };
}

async function verify(headers: Record<string, string | undefined>, options: Partial<VerifyOptions> = {}, target: HttpRequest = request) {
  return verifyRequestSignature({ ...target, headers: { ...target.headers, ...headers } }, { ...policy, ...options });
}

async function refusedWith(reason: VerificationFailure, headers: Record<string, string | undefined>, options: Partial<VerifyOptions> = {}, target: HttpRequest = request) {
  const result = await verify(headers, options, target);
  assert.equal(result.ok ? 'accepted' : result.reason, reason, result.ok ? 'accepted' : result.detail);
}

const seen = new Set<VerificationFailure>();
async function expectRefusal(reason: VerificationFailure, headers: Record<string, string | undefined>, options: Partial<VerifyOptions> = {}, target: HttpRequest = request) {
  seen.add(reason);
  await refusedWith(reason, headers, options, target);
}

describe('signature verification: a well-formed request', () => {
  it('is accepted with its parameters reported', async () => {
    const result = await verify(handSigned(`${covered};${fullParams}`));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      { label: result.label, keyid: result.keyid, nonce: result.nonce, created: result.created, expires: result.expires, components: result.components },
      { label: 'sig1', keyid: 'merchant-1', nonce: 'n-1', created: T, expires: T + 300, components: ['@method', '@target-uri', 'content-digest'] },
    );
  });

  it('is accepted with alg="ed25519", extra parameters and extra covered components', async () => {
    const result = await verify(handSigned(`("content-type" "@method" "@authority" "@target-uri" "content-digest");${fullParams};alg="ed25519";tag="x";future=?1`));
    assert.ok(result.ok, JSON.stringify(result));
  });

  it('is accepted at the edges of the clock skew and maximum age', async () => {
    const edge = (created: number, expires: number) => handSigned(`${covered};created=${created};expires=${expires};nonce="n";keyid="merchant-1"`);
    assert.ok((await verify(edge(T + 30, T + 330))).ok, 'created 30 s ahead');
    assert.ok((await verify(edge(T - 300, T))).ok, 'created 300 s ago, expiring this second');
  });
});

describe('signature verification: each refusal reason', () => {
  it('signature-missing: no Signature field, or an empty one', async () => {
    await expectRefusal('signature-missing', {});
    await expectRefusal('signature-missing', { 'signature-input': `sig1=${covered};${fullParams}` });
    await expectRefusal('signature-missing', { signature: '', 'signature-input': `sig1=${covered};${fullParams}` });
  });

  it('signature-input-missing: a Signature without Signature-Input', async () => {
    const { signature } = handSigned(`${covered};${fullParams}`);
    await expectRefusal('signature-input-missing', { signature });
    await expectRefusal('signature-input-missing', { signature, 'signature-input': '' });
  });

  it('signature-header-too-long: either field over 8 KiB', async () => {
    const good = handSigned(`${covered};${fullParams}`);
    await expectRefusal('signature-header-too-long', { ...good, 'signature-input': good['signature-input'] + `;x="${'a'.repeat(8200)}"` });
    await expectRefusal('signature-header-too-long', { ...good, signature: good.signature + `, pad="${'a'.repeat(8200)}"` });
  });

  it('signature-input-malformed: not a Dictionary, not an Inner List, wrong parameter types, bad component names', async () => {
    const { signature } = handSigned(`${covered};${fullParams}`);
    for (const input of [
      `sig1=("@method" "@target-uri" "content-digest";${fullParams}`,
      `sig1=${covered};${fullParams},`,
      `sig1=:AAAA:`,
      `sig1="@method"`,
      `sig1=(@method "@target-uri" "content-digest");${fullParams}`,
      `sig1=("@method" "@target-uri" "content-digest" "@method");${fullParams}`,
      `sig1=("@method" "@target-uri" "Content-Digest");${fullParams}`,
      `sig1=("@method" "@target-uri" "content digest");${fullParams}`,
      `sig1=${covered};created="${T}";expires=${T + 300};nonce="n";keyid="merchant-1"`,
      `sig1=${covered};created=${T};expires=${T + 300};nonce=n;keyid="merchant-1"`,
      `sig1=${covered};created=${T};expires=${T + 300};nonce="n";keyid=merchant`,
      `sig1=${covered};created=-5;expires=${T + 300};nonce="n";keyid="merchant-1"`,
      `sig1=${covered};created=${T}.5;expires=${T + 300};nonce="n";keyid="merchant-1"`,
      `sig1=${covered};${fullParams};alg=ed25519`,
      `Sig1=${covered};${fullParams}`,
      `sig1=${covered};nonce="ñ"`,
    ]) {
      await expectRefusal('signature-input-malformed', { signature, 'signature-input': input });
    }
  });

  it('signature-malformed: not a Dictionary, not a Byte Sequence, not 64 octets', async () => {
    const input = `sig1=${covered};${fullParams}`;
    for (const signature of ['sig1=:not base64!:', 'sig1=("a")', 'sig1="AAAA"', 'sig1=:AAAA:', `sig1=:${Buffer.alloc(65).toString('base64')}:`, 'sig1', 'sig1=:AAAA']) {
      await expectRefusal('signature-malformed', { signature, 'signature-input': input });
    }
  });

  it('label-mismatch: no Signature member for the label, or the expected label absent', async () => {
    const good = handSigned(`${covered};${fullParams}`);
    await expectRefusal('label-mismatch', { ...good, signature: good.signature.replace('sig1=', 'sig2=') });
    await expectRefusal('label-mismatch', good, { label: 'merchant' });
  });

  it('component-missing: a required component not covered', async () => {
    await expectRefusal('component-missing', handSigned(`("@method" "@target-uri");${fullParams}`));
    await expectRefusal('component-missing', handSigned(`("@method" "content-digest");${fullParams}`));
    await expectRefusal('component-missing', handSigned(`();${fullParams}`));
    await expectRefusal('component-missing', handSigned(`${covered};${fullParams}`), { requiredComponents: ['@method', 'Content-Type'] });
  });

  it('component-unsupported: parameters on a component, @query-param, @status, @signature-params, unknown derived names', async () => {
    for (const extra of ['"content-type";sf', '"@query-param";name="ref"', '"@status"', '"@signature-params"', '"@unknown"', '"content-type";req']) {
      await expectRefusal('component-unsupported', handSigned(`("@method" "@target-uri" "content-digest" ${extra});${fullParams}`));
    }
  });

  it('component-unresolved: a covered header the request does not carry', async () => {
    await expectRefusal('component-unresolved', handSigned(`("@method" "@target-uri" "content-digest" "date");${fullParams}`));
  });

  it('component-value-invalid: a covered header with a bare newline or a character outside ASCII', async () => {
    for (const value of ['one\ntwo', 'one\rtwo', 'café', 'nul\u0000']) {
      const target = { ...request, headers: { ...request.headers, 'x-note': value } };
      await expectRefusal('component-value-invalid', handSigned(`("@method" "@target-uri" "content-digest" "x-note");${fullParams}`, target), {}, target);
    }
  });

  it('target-uri-invalid: URI components over a target URI that is not absolute http(s)', async () => {
    for (const url of ['/v1/purchases', 'gateway.example/v1', 'https://gateway.example/v1#frag', 'https://u@gateway.example/', 'https:///v1', 'https://gateway.example:8x/', 'https://gateway.example/a b', 'https://[::1/']) {
      const target = { ...request, url };
      await expectRefusal('target-uri-invalid', handSigned(`${covered};${fullParams}`, target), {}, target);
    }
  });

  it('param-missing: a required parameter absent, and keyid always', async () => {
    await expectRefusal('param-missing', handSigned(`${covered};created=${T};expires=${T + 300};keyid="merchant-1"`));
    await expectRefusal('param-missing', handSigned(`${covered};created=${T};nonce="n";keyid="merchant-1"`));
    await expectRefusal('param-missing', handSigned(`${covered};expires=${T + 300};nonce="n";keyid="merchant-1"`));
    await expectRefusal('param-missing', handSigned(`${covered};created=${T};expires=${T + 300};nonce="n"`), { requiredParams: ['created'] });
  });

  it('alg-unsupported: another alg parameter, or a registered key that is not Ed25519', async () => {
    await expectRefusal('alg-unsupported', handSigned(`${covered};${fullParams};alg="rsa-pss-sha512"`));
    await expectRefusal('alg-unsupported', handSigned(`${covered};${fullParams};alg="hmac-sha256"`));
    await expectRefusal('alg-unsupported', handSigned(`${covered};${fullParams}`), { resolveKey: () => generateKeyPairSync('x25519').publicKey });
    await expectRefusal('alg-unsupported', handSigned(`${covered};${fullParams}`), { resolveKey: () => ({ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey }) });
  });

  it('key-unknown: no key registered under the keyid', async () => {
    await expectRefusal('key-unknown', handSigned(`${covered};created=${T};expires=${T + 300};nonce="n";keyid="merchant-2"`));
    await expectRefusal('key-unknown', handSigned(`${covered};${fullParams}`), { resolveKey: async () => null });
  });

  it('signature-expired: expires in the past, by any amount; the clock skew is for created only', async () => {
    await expectRefusal('signature-expired', handSigned(`${covered};created=${T - 100};expires=${T - 31};nonce="n";keyid="merchant-1"`));
    await expectRefusal('signature-expired', handSigned(`${covered};created=${T - 100};expires=${T - 1};nonce="n";keyid="merchant-1"`));
    await expectRefusal('signature-expired', handSigned(`${covered};created=${T - 100};expires=${T - 1};nonce="n";keyid="merchant-1"`), { clockSkewSeconds: 300 });
    // Within the same second it has not yet passed.
    assert.ok((await verify(handSigned(`${covered};created=${T - 100};expires=${T};nonce="n";keyid="merchant-1"`), { now: new Date(T * 1000 + 999) })).ok);
  });

  it('signature-not-yet-valid: created more than the skew in the future', async () => {
    await expectRefusal('signature-not-yet-valid', handSigned(`${covered};created=${T + 31};expires=${T + 331};nonce="n";keyid="merchant-1"`));
    assert.ok((await verify(handSigned(`${covered};created=${T + 30};expires=${T + 330};nonce="n";keyid="merchant-1"`))).ok, 'created at the edge of the skew');
    await expectRefusal('signature-not-yet-valid', handSigned(`${covered};created=${T + 5};expires=${T + 300};nonce="n";keyid="merchant-1"`), { clockSkewSeconds: 0 });
  });

  it('signature-too-old: created further back than the maximum age, though not yet expired', async () => {
    await expectRefusal('signature-too-old', handSigned(`${covered};created=${T - 301};expires=${T + 300};nonce="n";keyid="merchant-1"`));
    await expectRefusal('signature-too-old', handSigned(`${covered};${fullParams}`), { maxAgeSeconds: 60, now: new Date((T + 61) * 1000) });
  });

  it('signature-invalid: a changed signature, method, URI, covered header, or parameter', async () => {
    const good = handSigned(`("@method" "@target-uri" "content-digest" "content-type");${fullParams}`);
    const bytes = Buffer.from(good.signature.slice(5, -1), 'base64');
    bytes[10]! ^= 1;
    await expectRefusal('signature-invalid', { ...good, signature: `sig1=:${bytes.toString('base64')}:` });
    await expectRefusal('signature-invalid', good, {}, { ...request, method: 'PUT' });
    await expectRefusal('signature-invalid', good, {}, { ...request, url: 'https://gateway.example/v1/purchases?ref=43' });
    await expectRefusal('signature-invalid', { ...good, 'content-type': 'text/plain' });
    await expectRefusal('signature-invalid', { ...good, 'signature-input': good['signature-input'].replace('nonce="n-1"', 'nonce="n-2"') });
    await expectRefusal('signature-invalid', good, { resolveKey: () => generateKeyPairSync('ed25519').publicKey });
  });

  it('content-digest-*: the covered Content-Digest checked against the body', async () => {
    const withDigest = (value: string, content = body) => {
      const target = { ...request, headers: { ...request.headers, 'content-digest': value }, body: content };
      return [handSigned(`${covered};${fullParams}`, target), {}, target] as const;
    };
    await expectRefusal('content-digest-mismatch', ...withDigest(digest, body.replace('1250', '9999')));
    await expectRefusal('content-digest-mismatch', ...withDigest(digest, ''));
    await expectRefusal('content-digest-missing', ...withDigest(''));
    await expectRefusal('content-digest-malformed', ...withDigest('sha-256=abc'));
    await expectRefusal('content-digest-unsupported', ...withDigest('md5=:AAAAAAAAAAAAAAAAAAAAAA==:'));
  });

  it('covers every listed reason', () => {
    assert.deepEqual([...verificationFailures].filter((reason) => !seen.has(reason)), []);
  });
});

describe('signature verification: choosing among several signatures', () => {
  it('verifies the first signature that meets the requirements, skipping ones that do not', async () => {
    const weak = handSigned(`("@method");created=${T};keyid="merchant-1"`, request, 'weak');
    const strong = handSigned(`${covered};${fullParams}`, request, 'strong');
    const result = await verify({ 'signature-input': `${weak['signature-input']}, ${strong['signature-input']}`, signature: `${strong.signature}, ${weak.signature}` });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.label, 'strong');
  });

  it('reads repeated Signature and Signature-Input lines as one Dictionary each', async () => {
    const a = handSigned(`("@method");created=${T};keyid="merchant-1"`, request, 'a');
    const b = handSigned(`${covered};${fullParams}`, request, 'b');
    const headers = { ...request.headers, 'signature-input': [a['signature-input'], b['signature-input']], signature: [a.signature, b.signature] };
    const result = await verifyRequestSignature({ ...request, headers }, policy);
    assert.ok(result.ok && result.label === 'b', JSON.stringify(result));
  });

  it('reports the first label\'s reason when none qualifies', async () => {
    const a = handSigned(`("@method");${fullParams}`, request, 'a');
    const b = handSigned(`${covered};created=${T}`, request, 'b');
    const result = await verify({ 'signature-input': `${a['signature-input']}, ${b['signature-input']}`, signature: `${a.signature}, ${b.signature}` });
    assert.deepEqual(result.ok ? null : [result.reason, result.label], ['component-missing', 'a']);
  });

  it('with an expected label, verifies that one only', async () => {
    const good = handSigned(`${covered};${fullParams}`, request, 'good');
    const other = handSigned(`${covered};${fullParams}`, request, 'other');
    const headers = { 'signature-input': `${good['signature-input']}, ${other['signature-input']}`, signature: `${good.signature}, other=:${Buffer.alloc(64).toString('base64')}:` };
    await refusedWith('signature-invalid', headers, { label: 'other' });
    assert.ok((await verify(headers, { label: 'good' })).ok);
  });
});

describe('signature verification: errors that are not the request\'s', () => {
  it('an invalid clock or window option throws instead of letting every timestamp through', async () => {
    const good = handSigned(`${covered};${fullParams}`);
    await assert.rejects(verify(good, { now: new Date(Number.NaN) }), RangeError);
    await assert.rejects(verify(good, { maxAgeSeconds: Number.NaN }), RangeError);
    await assert.rejects(verify(good, { clockSkewSeconds: -1 }), RangeError);
  });

  it('errors from resolveKey are passed on, not mistaken for a bad request', async () => {
    await assert.rejects(
      verify(handSigned(`${covered};${fullParams}`), {
        resolveKey: async () => {
          throw new Error('store down');
        },
      }),
      /store down/,
    );
  });
});

// Signing with the SDK and verifying must agree on everything handSigned builds by hand.
describe('signature verification: SDK-signed requests', () => {
  it('accepts what signRequest produces for the same request', async () => {
    const signed = signRequest(request, { privateKey, keyid: 'merchant-1', created: T, components: ['@method', '@target-uri', 'content-digest', 'content-type'] });
    assert.ok((await verify({ 'signature-input': signed.signatureInput, signature: signed.signature })).ok);
  });
});
