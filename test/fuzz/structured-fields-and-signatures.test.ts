import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { signingFailures, SigningError, signRequest, verificationFailures, verifyRequestSignature, type SignRequestOptions, parseTargetUri } from '@sideband/http-signatures';
import { parseDictionary, serializeDictionary, structuredFieldFailures, innerList, item, type BareItem, type Dictionary, type InnerList, type Item, type Parameters } from '@sideband/http-signatures/structured-fields';
import { fuzzAsyncWithinBudget, fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';
import { mutatedText } from './text-mutations.ts';

// RFC 8941 Dictionaries (Signature-Input, Signature, Content-Digest) and RFC 9421
// signatures over them. Dictionaries are generated as values, serialized, edited: what
// parses serializes and parses back the same, and every generated value survives the
// trip exactly. Signed requests are generated whole (method, URL, fields, body, covered
// components, parameters): each verifies, and changing anything it covers makes it fail
// with a listed reason while changing what it does not cover does not. Complements
// test/certification/http-signatures/signature-header-fuzzing.test.ts, which edits one
// fixed signature and feeds the parser text made of grammar fragments.

const lcKey = fc.stringMatching(/^[a-z*][a-z0-9_.*-]{0,8}$/);
const bareItem: fc.Arbitrary<BareItem> = fc.oneof(
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map((value): BareItem => ({ type: 'integer', value })),
  // Decimals the grammar can carry: at most 12 integer and 3 fractional digits.
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map((thousandths): BareItem => ({ type: 'decimal', value: thousandths / 1000 })),
  fc.string({ maxLength: 20 }).map((s) => [...s].filter((c) => c >= ' ' && c <= '~').join('')).map((value): BareItem => ({ type: 'string', value })),
  fc.stringMatching(/^[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,10}$/).map((value): BareItem => ({ type: 'token', value })),
  fc.uint8Array({ maxLength: 40 }).map((value): BareItem => ({ type: 'byte-sequence', value })),
  fc.boolean().map((value): BareItem => ({ type: 'boolean', value })),
);
const parameters: fc.Arbitrary<Parameters> = fc.array(fc.tuple(lcKey, bareItem), { maxLength: 3 }).map((entries) => new Map(entries));
const sfItem: fc.Arbitrary<Item> = fc.tuple(bareItem, parameters).map(([value, params]) => item(value, params));
const member: fc.Arbitrary<Item | InnerList> = fc.oneof(sfItem, fc.tuple(fc.array(sfItem, { maxLength: 4 }), parameters).map(([items, params]) => innerList(items, params)));
const dictionary: fc.Arbitrary<Dictionary> = fc.array(fc.tuple(lcKey, member), { maxLength: 5 }).map((entries) => new Map(entries));

const sfFragments = ['=', ';', ',', ', ', ' ', '\t', '(', ')', '"', '\\', ':', '?1', '?0', '-', '.', '*', '1.5', '123456789012345', '1234567890123.1', ':AAAA:', '=:', 'a=', '\u00e9'];

const fieldText = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  { weight: 3, arbitrary: dictionary.map((d) => ({ d, text: serializeDictionary(d) })) },
  { weight: 6, arbitrary: mutatedText(dictionary.map(serializeDictionary), sfFragments).map((text) => ({ text })) },
);

function checkField(input: string | { d?: Dictionary; text: string }, reached: Reached): void {
  const { d, text } = typeof input === 'string' ? { d: undefined, text: input } : input;
  const parsed = parseDictionary(text, { maxLength: 8192 });
  if (!parsed.ok) {
    assert.ok(structuredFieldFailures.includes(parsed.reason), `unlisted reason ${parsed.reason}`);
    assert.ok(Number.isInteger(parsed.offset) && parsed.offset >= 0 && parsed.offset <= Math.max(text.length, 8192));
    assert.equal(d, undefined, `a serialized Dictionary does not parse: ${parsed.reason} at ${parsed.offset}`);
    reached.hit(`refused ${parsed.reason}`);
    return;
  }
  // Bounded: no more members than the text has characters.
  assert.ok(parsed.value.size <= text.length);
  // Round trip both ways: a generated value comes back exactly, and what parses serializes
  // to text that parses to the same value again.
  if (d !== undefined) {
    assert.deepEqual(parsed.value, d);
    reached.hit('value round-tripped');
  }
  const serialized = serializeDictionary(parsed.value);
  const again = parseDictionary(serialized, { maxLength: 8192 });
  assert.ok(again.ok, `the serialization ${JSON.stringify(serialized)} does not parse`);
  assert.deepEqual(again.value, parsed.value);
  reached.hit('text round-tripped');
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEYID = 'fuzz-merchant';
const T = 1_750_000_000;

const fieldNames = ['content-type', 'idempotency-key', 'x-request-id', 'x-shop'];
const fieldValue = fc.oneof(fc.stringMatching(/^[ -~]{0,30}$/), fc.constantFrom('application/json', ' padded ', 'a, b'), fc.string({ maxLength: 10 }));
const request = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'post'), fc.stringMatching(/^[A-Z]{1,8}$/)),
  url: fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true }),
  headers: fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(fieldValue, fc.array(fieldValue, { minLength: 1, maxLength: 3 }))),
  body: fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 })), { nil: undefined }),
  components: fc.option(fc.subarray(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', 'content-digest', ...fieldNames]), { nil: undefined }),
  created: fc.integer({ min: T - 400, max: T + 60 }),
  expires: fc.option(fc.integer({ min: T - 20, max: T + 600 }), { nil: null }),
  nonce: fc.option(fc.stringMatching(/^[ -~]{1,24}$/), { nil: null }),
  tag: fc.option(fc.stringMatching(/^[ -~]{0,12}$/), { nil: undefined }),
  alg: fc.option(fc.constant('ed25519' as const), { nil: undefined }),
  label: fc.oneof(fc.constant('sig1'), lcKey),
  // What to change after signing, and other signatures to put beside this one.
  change: fc.constantFrom('nothing', 'method', 'path', 'query', 'authority', 'scheme', 'field', 'new-field', 'body', 'params', 'signature'),
  field: fc.constantFrom(...fieldNames),
  others: fc.array(fc.tuple(lcKey, member), { maxLength: 2 }),
});

type SignedCase = typeof request extends fc.Arbitrary<infer T> ? T : never;

const allowedReasons: readonly string[] = verificationFailures;

/** The values of the URI-derived components for a target URI. */
function uriComponents(uri: string): Record<string, string | null> {
  const u = parseTargetUri(uri);
  if (u === null) return { '@target-uri': null };
  const query = u.query === null ? '' : `?${u.query}`;
  return { '@target-uri': u.uri, '@authority': u.authority, '@scheme': u.scheme, '@request-target': u.path + query, '@path': u.path, '@query': `?${u.query ?? ''}` };
}

async function checkSignature(r: SignedCase, reached: Reached): Promise<void> {
  // The URL as fetch sends it: WHATWG-serialized, without a fragment.
  const parsedUrl = new URL(r.url);
  parsedUrl.hash = '';
  const url = parsedUrl.href;
  const options: SignRequestOptions = {
    privateKey, keyid: KEYID, created: r.created, expires: r.expires, nonce: r.nonce, label: r.label,
    ...(r.components ? { components: r.components } : {}), ...(r.tag !== undefined ? { tag: r.tag } : {}), ...(r.alg ? { alg: r.alg } : {}),
  };
  const base = { method: r.method, url, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) };
  let signed;
  try {
    signed = signRequest(base, options);
  } catch (e) {
    // The signer refuses what it cannot sign with a listed SigningError, and nothing else.
    assert.ok(e instanceof SigningError && (signingFailures as readonly string[]).includes(e.reason), `signRequest threw ${String(e)}`);
    reached.hit(`not signed: ${(e as SigningError).reason}`);
    return;
  }
  const covered = (r.components ?? ['@method', '@target-uri', ...(r.body !== undefined ? ['content-digest'] : [])]).map((c) => c.toLowerCase());
  const headers: Record<string, string | readonly string[] | undefined> = {
    ...r.headers,
    ...(signed.contentDigest ? { 'content-digest': signed.contentDigest } : {}),
    'signature-input': [signed.signatureInput, ...(r.others.length > 0 ? [serializeDictionary(new Map(r.others.filter(([k]) => k !== r.label)))] : [])].filter((v) => v !== ''),
    signature: signed.signature,
  };
  let method = r.method;
  let target = url;
  let body = r.body;
  let touched: string[] = [];
  const u = parseTargetUri(url)!;
  const query = u.query === null ? '' : `?${u.query}`;
  switch (r.change) {
    case 'nothing':
      break;
    case 'method':
      method = r.method.toUpperCase() === 'QUERY' ? 'SEARCH' : 'QUERY';
      touched = ['@method'];
      break;
    case 'path':
      target = `${u.scheme}://${u.authority}${u.path}x${query}`;
      break;
    case 'query':
      target = `${u.scheme}://${u.authority}${u.path}?${u.query ?? ''}x`;
      break;
    case 'authority':
      target = `${u.scheme}://x${u.authority}${u.path}${query}`;
      break;
    case 'scheme':
      target = `${u.scheme === 'https' ? 'http' : 'https'}://${u.authority}${u.path}${query}`;
      break;
    case 'field':
    case 'new-field': {
      const existing = headers[r.field];
      if (r.change === 'field' && existing === undefined) return;
      headers[r.field] = existing === undefined ? 'added' : `${typeof existing === 'string' ? existing : existing.join(', ')}x`;
      touched = [r.field];
      break;
    }
    case 'body':
      body = `${typeof r.body === 'string' ? r.body : Buffer.from(r.body ?? []).toString('latin1')}x`;
      touched = ['content-digest'];
      break;
    case 'params':
      headers['signature-input'] = signed.signatureInput.replace(/;created=\d+/, `;created=${r.created - 1}`);
      touched = ['*'];
      break;
    case 'signature':
      headers.signature = signed.signature.replace(/:(.)/, (_, c: string) => `:${c === 'A' ? 'B' : 'A'}`);
      touched = ['*'];
      break;
  }
  if (target !== url) {
    // Which URI-derived components (RFC 9421 §2.2) the new target changes.
    const before = uriComponents(url);
    const after = uriComponents(target);
    touched = Object.keys(before).filter((name) => before[name] !== after[name]);
  }
  const result = await verifyRequestSignature({ method, url: target, headers, ...(body !== undefined ? { body } : {}) }, {
    resolveKey: (keyid) => (keyid === KEYID ? publicKey : null),
    now: new Date(T * 1000),
    requiredComponents: [],
    requiredParams: [],
    label: r.label,
  });
  if (!result.ok) assert.ok(allowedReasons.includes(result.reason), `unlisted reason ${result.reason}`);
  // RFC 9421 §3.2.1 with the verifier's defaults: 300 s maximum age, 30 s skew for created.
  const expired = r.expires !== null && T > r.expires;
  const tooNew = r.created > T + 30;
  const tooOld = T - r.created > 300;
  const changedCovered = touched.includes('*') || touched.some((c) => covered.includes(c));
  if (expired || tooNew || tooOld) {
    assert.ok(!result.ok);
    reached.hit(`refused in time: ${result.ok ? '' : result.reason}`);
  } else if (changedCovered) {
    assert.ok(!result.ok, `changing ${r.change} (covered: ${covered.join(' ')}) still verified`);
    reached.hit(`refused after changing ${r.change}: ${result.reason}`);
  } else {
    assert.ok(result.ok, `an unchanged covered part was refused: ${result.ok ? '' : `${result.reason} ${result.detail}`} (changed ${r.change}, covered ${covered.join(' ')})`);
    assert.deepEqual(result.components, covered);
    reached.hit(r.change === 'nothing' ? 'verified' : `verified after changing uncovered ${r.change}`);
  }
}

describe('structured field and signature fuzzing', () => {
  it('parses any field value as a Dictionary or a listed failure; values and texts round-trip', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, fieldText, (input) => checkField(input, reached));
    reached.diagnose(t);
  });

  it('verifies every request it signs, and refuses it once anything covered changes', { timeout: fuzzTestTimeout }, async (t) => {
    const reached = new Reached();
    await fuzzAsyncWithinBudget(t, request, (r) => checkSignature(r, reached));
    reached.diagnose(t);
  });
});
