import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCreateAuthorization, parseMovement } from '../../src/certification/api/authorization-request.ts';
import { parseExchangeRequest } from '../../src/certification/api/channel-request.ts';
import { canonicalAddress } from '../../src/core/network/cidr.ts';
import { currencies, MAX_AMOUNT } from '../../src/core/money/currency.ts';
import { errorRegistry } from '../../src/errors/registry.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';
import { mutatedText } from './text-mutations.ts';

// The merchant API's JSON bodies, as merchant-api.ts hands them on: the request's bytes
// through JSON.parse, then parseCreateAuthorization (POST /v1/authorizations),
// parseMovement (capture, refund) or parseExchangeRequest (POST /v1/channel/exchanges).
// Bodies are generated valid, then changed field by field (any JSON value in any field,
// fields removed, unknown and prototype-shaped names added) and as text. Each parser
// answers a typed value or a SidebandError with a 400 code naming a field, and what it
// answers parses again to itself. Complements test/certification/request-validation.test.ts,
// which checks each rule with chosen values; no card number is generated here.

const NOW = Date.parse('2026-11-23T12:00:00Z');
const refusals = new Set(['BODY_MALFORMED', 'FIELD_UNKNOWN', 'FIELD_INVALID', 'FIELD_HOLDS_CARD_NUMBER', 'ADDRESS_INVALID', 'AMOUNT_INVALID', 'CURRENCY_UNKNOWN']);

/** Mostly values the parser accepts, so that later fields are reached; sometimes not. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: invalid });

const address = mostly(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4().map((a) => `::ffff:${a}`), fc.ipV6().map((a) => a.toUpperCase())), fc.oneof(fc.ipV4Extended(), fc.string({ maxLength: 12 })));
const time = mostly(
  fc.oneof(
    fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date(NOW + 60_000), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2026-11-23T12:00:00Z', '2026-11-23t12:00:00.123456789z', '2026-11-23T13:30:00+01:30', '2026-11-23T12:00Z'),
  ),
  fc.constantFrom('2026-02-30T12:00:00Z', '2026-11-23', '2026-11-23T12:05:00Z', '+002026-11-23T12:00:00Z'),
);
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('Two books:\r\n\tA', 'order/2026/17', 'SKU 12345678', '\u202eevil', 'a\u0000b'));
const amount = mostly(fc.integer({ min: 1, max: MAX_AMOUNT }), fc.oneof(fc.integer({ min: -5, max: MAX_AMOUNT + 5 }), fc.double(), fc.constantFrom(0, -0, 19.99, Number.MAX_SAFE_INTEGER)));
const anyJson = fc.jsonValue({ maxDepth: 3 });

const createBody = fc.record({
  customer: fc.record({ address, port: mostly(fc.nat(65535), fc.constantFrom(-1, 65536, 0.5)), observedAt: time }, { requiredKeys: ['address'] }),
  amount,
  currency: mostly(fc.constantFrom(...Object.keys(currencies)), fc.constantFrom('eur', 'XYZ', 'EURO', '')),
  description: fc.option(text, { nil: null }),
  merchantReference: fc.option(text, { nil: null }),
  capture: mostly(fc.constantFrom('automatic', 'manual'), fc.constant('later')),
  settlement: mostly(fc.constantFrom('card', 'provider_bill', 'merchant_bill'), fc.constant('cash')),
}, { requiredKeys: ['customer', 'amount', 'currency'] });
const captureBody = fc.record({ amount }, { requiredKeys: [] });
const refundBody = fc.record({ amount, reason: fc.option(text, { nil: null }) }, { requiredKeys: [] });
const exchangeBody = fc.record({
  exchangeId: mostly(fc.stringMatching(/^exc_[a-z0-9]{16}$/), text),
  authorizationId: mostly(fc.stringMatching(/^auth_[A-Za-z0-9]{10}$/), text),
  firstSender: mostly(fc.constantFrom('provider', 'merchant'), fc.constant('nobody')),
  items: fc.record({ provider: mostly(fc.nat(100), fc.constantFrom(-1, 101, 1.5)), merchant: mostly(fc.nat(100), fc.constantFrom(-1, 101, 1.5)) }, { requiredKeys: [] }),
  number: mostly(fc.stringMatching(/^\+?[0-9*#]{1,32}$/), text),
  token: text,
}, { requiredKeys: ['authorizationId', 'firstSender', 'items'] });

type Json = unknown;

/** Field-level changes: any JSON in a field at any depth, a field removed, a name added. */
const change = fc.record({
  kind: fc.constantFrom('replace', 'remove', 'add'),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }),
  name: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'tip', 'customer', 'amount', '', ' amount', 'valueOf'), fc.string({ maxLength: 8 })),
  value: anyJson,
});

function applyChange(body: Json, c: { kind: string; path: number[]; name: string; value: Json }): Json {
  const copy = JSON.parse(JSON.stringify(body)) as Json;
  let target = copy;
  for (let depth = 0; depth < c.path.length; depth++) {
    if (typeof target !== 'object' || target === null) return copy;
    const keys = Object.keys(target);
    if (keys.length === 0) break;
    const key = keys[c.path[depth]! % keys.length]!;
    const o = target as Record<string, Json>;
    if (depth === c.path.length - 1 || typeof o[key] !== 'object' || o[key] === null) {
      if (c.kind === 'replace') o[key] = c.value;
      else if (c.kind === 'remove') delete o[key];
      // An own property even for "__proto__", as JSON.parse makes it.
      else Object.defineProperty(o, c.name, { value: c.value, enumerable: true, writable: true, configurable: true });
      return copy;
    }
    target = o[key];
  }
  return copy;
}

const jsonFragments = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', 'null', 'true', '-0', '1e309', '0.5', '"__proto__":', '"amount":', ' '];

type Parser = 'create' | 'capture' | 'refund' | 'exchange';

/** A body as bytes (the wire), or as a JSON value after JSON.parse, for one of the parsers. */
const input: fc.Arbitrary<{ parser: Parser; body: Json }> = fc.constantFrom<Parser>('create', 'capture', 'refund', 'exchange').chain((parser) => {
  const valid: fc.Arbitrary<Json> = { create: createBody, capture: captureBody, refund: refundBody, exchange: exchangeBody }[parser];
  const bytes = fc.oneof(
    valid.map((b) => JSON.stringify(b)),
    mutatedText(valid.map((b) => JSON.stringify(b)), jsonFragments),
  ).map((t) => {
    // merchant-api.ts: an empty body is absent, anything else goes through JSON.parse.
    if (t.length === 0) return undefined;
    try {
      return JSON.parse(Buffer.from(t, 'utf8').toString('utf8')) as Json;
    } catch {
      return 'not json';
    }
  });
  return fc.oneof(
    { weight: 1, arbitrary: anyJson },
    { weight: 3, arbitrary: valid },
    { weight: 4, arbitrary: fc.tuple(valid, fc.array(change, { minLength: 1, maxLength: 3 })).map(([b, cs]) => cs.reduce(applyChange, b)) },
    { weight: 2, arbitrary: bytes },
  ).map((body) => ({ parser, body }));
});

function parse(parser: Parser, body: Json): unknown {
  if (parser === 'create') return parseCreateAuthorization(body, NOW);
  if (parser === 'exchange') return parseExchangeRequest(body);
  return parseMovement(body, parser === 'refund');
}

/** The body a parsed value came from, in its plainest form. */
function bodyOf(parser: Parser, value: unknown): Json {
  if (parser === 'exchange' || parser === 'refund') return value;
  if (parser === 'capture') return { amount: (value as ReturnType<typeof parseMovement>).amount };
  const v = value as ReturnType<typeof parseCreateAuthorization>;
  const customer = { address: v.customer.address, ...(v.customer.port !== undefined ? { port: v.customer.port } : {}), ...(v.customer.observedAt !== undefined ? { observedAt: new Date(v.customer.observedAt).toISOString() } : {}) };
  return { customer, amount: v.amount, currency: v.currency, description: v.description, merchantReference: v.merchantReference, capture: v.capture, ...(v.settlement !== undefined ? { settlement: v.settlement } : {}) };
}

function checkParsed(parser: Parser, value: unknown): void {
  if (parser === 'create') {
    const v = value as ReturnType<typeof parseCreateAuthorization>;
    assert.equal(canonicalAddress(v.customer.address), v.customer.address);
    assert.ok(Number.isInteger(v.amount) && v.amount >= 1 && v.amount <= MAX_AMOUNT && !Object.is(v.amount, -0));
    assert.ok(Object.hasOwn(currencies, v.currency));
    assert.ok(v.customer.observedAt === undefined || v.customer.observedAt <= NOW + 60_000);
    assert.ok((v.description ?? '').length <= 500 && (v.merchantReference ?? '').length <= 200);
  } else if (parser === 'exchange') {
    const v = value as ReturnType<typeof parseExchangeRequest>;
    assert.ok(v.authorizationId.length <= 128 && ['provider', 'merchant'].includes(v.firstSender));
    assert.ok([v.items.provider, v.items.merchant].every((n) => Number.isInteger(n) && n >= 0 && n <= 100));
  } else {
    const v = value as ReturnType<typeof parseMovement>;
    assert.ok(v.amount === undefined || (Number.isInteger(v.amount) && v.amount >= 1));
    assert.ok(parser === 'refund' || v.reason === null);
  }
}

function checkBody({ parser, body }: { parser: Parser; body: Json }, reached: Reached): void {
  let value: unknown;
  try {
    value = parse(parser, body);
  } catch (e) {
    // Refused with a 400 that names what is wrong, never with anything else.
    assert.ok(e instanceof SidebandError, `${parser} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.ok(refusals.has(e.code) && errorRegistry[e.code].status === 400, `${parser} refused with ${e.code}`);
    assert.ok(e.param === undefined || /^[A-Za-z0-9_.]{1,80}$/.test(e.param), `param ${JSON.stringify(e.param)}`);
    assert.ok(e.message.length > 0 && e.message.length < 400);
    reached.hit(`${parser} refused ${e.code}`);
    return;
  }
  checkParsed(parser, value);
  // Round trip: what a parser answers, sent again, is answered the same.
  // (Compared as JSON: an absent amount and an undefined one are the same answer.)
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  assert.deepEqual(plain(parse(parser, plain(bodyOf(parser, value)))), plain(value));
  reached.hit(`${parser} parsed`);
}

describe('merchant request body fuzzing', () => {
  it('answers any body with a typed request or a 400 naming the field, and what it answers parses again to itself', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, input, (i) => checkBody(i, reached));
    reached.diagnose(t);
  });
});
