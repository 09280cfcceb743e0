import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  contentDigestFailures,
  signRequest,
  verificationFailures,
  verifyContentDigest,
  verifyRequestSignature,
  type VerificationResult,
} from '@sideband/http-signatures';
import { parseDictionary, serializeDictionary, structuredFieldFailures } from '@sideband/http-signatures/structured-fields';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const T = 1_750_000_000;
const request = { method: 'POST', url: 'https://gateway.example/v1/purchases', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
const signed = signRequest(request, { privateKey, keyid: 'merchant-1', created: T });
const options = { resolveKey: (keyid: string) => (keyid === 'merchant-1' ? publicKey : null), now: new Date(T * 1000) };

/** Fragments of the Signature and Signature-Input grammar, so that random strings get past the first character. */
const fragment = fc.constantFrom(
  'sig1', 'sig2', '=', '(', ')', '"@method"', '"@target-uri"', '"content-digest"', '"@query-param"', '"content-type"', '"@signature-params"',
  ';', ';created=', ';expires=', ';nonce=', ';keyid=', ';alg=', '"ed25519"', '"merchant-1"', '"n"', String(T), '-1', '1.5', '?1', '?0',
  ':', ':AAAA:', `:${Buffer.alloc(64, 1).toString('base64')}:`, ', ', ',', ' ', '\t', '"', '\\', 'tok', '*', '@', '\u00e9', '\n',
);
const grammarish = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), grammarish);

function assertSettled(result: VerificationResult): void {
  if (!result.ok) assert.ok((verificationFailures as readonly string[]).includes(result.reason), `unlisted reason ${result.reason}`);
}

describe('signature header fuzzing', () => {
  it('random Signature and Signature-Input values never make the verifier throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(anyText, { nil: undefined }), fc.option(anyText, { nil: undefined }), async (signatureInput, signature) => {
        const headers = { ...request.headers, 'content-digest': signed.contentDigest, 'signature-input': signatureInput, signature };
        assertSettled(await verifyRequestSignature({ ...request, headers }, options));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutations of a valid pair never make the verifier throw, and only a pair that still signs what was signed is accepted', async () => {
    const mutate = (text: string) =>
      fc.tuple(fc.nat(text.length), fc.nat(text.length), fc.oneof(fc.string({ maxLength: 3 }), fragment)).map(([at, cut, insert]) => text.slice(0, at) + insert + text.slice(Math.max(at, cut)));
    await fc.assert(
      fc.asyncProperty(mutate(signed.signatureInput), mutate(signed.signature), async (signatureInput, signature) => {
        const headers = { ...request.headers, 'content-digest': signed.contentDigest, 'signature-input': signatureInput, signature };
        const result = await verifyRequestSignature({ ...request, headers }, options);
        assertSettled(result);
        if (result.ok) {
          // A mutation may only survive where it does not change what was signed: the
          // verified signature's parameters and bytes must be the original's. What is not
          // signed may change: the label (RFC 9421 §2.5: the base ends with the parameters
          // alone), so the same cut in both fields, renaming sig1 to si in each, is the same
          // signature; and parameters on the Signature member, which only carries bytes.
          assert.equal(memberOf(signatureInput, result.label), memberOf(signed.signatureInput, SIGNED_LABEL));
          assert.equal(memberOf(signature, result.label, true), memberOf(signed.signature, SIGNED_LABEL, true));
        }
      }),
      // Seen in CI: both labels cut the same way (seed 773151921); a parameter added to the
      // Signature member (seed 1376486035).
      { numRuns: 3000, examples: [[signed.signatureInput.replace(`${SIGNED_LABEL}=`, 'si='), signed.signature.replace(`${SIGNED_LABEL}=`, 'si=')], [signed.signatureInput, `${signed.signature};a`]] },
    );
  });

  it('random request parts (method, URI, covered header values, body) never make the verifier throw', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, anyText, anyText, fc.uint8Array({ maxLength: 64 }), async (method, url, contentType, body) => {
        const headers = { 'content-type': contentType, 'content-digest': signed.contentDigest, 'signature-input': signed.signatureInput, signature: signed.signature };
        assertSettled(await verifyRequestSignature({ method, url, headers, body }, options));
      }),
      { numRuns: 2000 },
    );
  });

  it('random Content-Digest values never make the digest check throw', () => {
    fc.assert(
      fc.property(anyText, fc.uint8Array({ maxLength: 32 }), (value, body) => {
        const result = verifyContentDigest(value, body);
        if (!result.ok) assert.ok((contentDigestFailures as readonly string[]).includes(result.reason));
      }),
      { numRuns: 3000 },
    );
  });

  it('whatever parses re-serializes to a value that parses to the same serialization', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const first = parseDictionary(text, { maxLength: 8192 });
        if (!first.ok) {
          assert.ok((structuredFieldFailures as readonly string[]).includes(first.reason));
          return;
        }
        const serialized = serializeDictionary(first.value);
        const second = parseDictionary(serialized, { maxLength: 8192 });
        assert.ok(second.ok, serialized);
        assert.equal(serializeDictionary(second.value), serialized);
      }),
      { numRuns: 5000 },
    );
  });

  it('parses an 8 KiB field of nested-looking input in linear time', () => {
    const hostile = ['sig1=(' + '"a" '.repeat(2000), 'a=' + '"\\'.repeat(4000), 'a, '.repeat(2700), ':' + 'A'.repeat(8000)];
    for (const text of hostile) {
      const started = process.hrtime.bigint();
      parseDictionary(text, { maxLength: 8192 });
      assert.ok(process.hrtime.bigint() - started < 50_000_000n, `${text.slice(0, 20)}… took too long`);
    }
  });
});

/** The label signRequest gave the signature. */
const SIGNED_LABEL = [...(parseDictionary(signed.signature, { maxLength: 8192 }) as { ok: true; value: Map<string, unknown> }).value.keys()][0]!;

/**
 * One member of a Dictionary field, serialized without its label (and, with `bare`, without
 * its parameters); the field re-serialized when it does not parse or lacks the label.
 */
function memberOf(text: string, label: string, bare = false): string {
  const parsed = parseDictionary(text, { maxLength: 8192 });
  const member = parsed.ok ? parsed.value.get(label) : undefined;
  if (member === undefined) return `no ${label} in: ${reserialize(text)}`;
  return serializeDictionary(new Map([['m', bare ? { ...member, params: new Map() } : member]]));
}

function reserialize(text: string): string {
  const parsed = parseDictionary(text, { maxLength: 8192 });
  return parsed.ok ? serializeDictionary(parsed.value) : `unparsable: ${text}`;
}
