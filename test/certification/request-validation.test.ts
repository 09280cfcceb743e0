import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { sql } from 'kysely';
import { SidebandApiError } from '@sideband/merchant-sdk';
import { parseCreateAuthorization, parseMovement } from '../../src/certification/api/authorization-request.ts';
import { parseExchangeRequest } from '../../src/certification/api/channel-request.ts';
import type { SimulatedAcquirer } from '../../src/certification/settlement/simulated-acquirer.ts';
import { canonicalAddress } from '../../src/core/network/cidr.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { grouped } from '../support/card-shapes.ts';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

// Card numbers are made at run time (test/support/test-cards.ts) and never reach an
// assertion message: the never-in-clear scan reads the test output too.

const NOW = Date.parse('2026-11-23T12:00:00Z');
const valid = { customer: { address: '192.0.2.10' }, amount: 1999, currency: 'EUR' };
const create = (patch: Record<string, unknown>, customer: Record<string, unknown> = {}) =>
  parseCreateAuthorization({ ...valid, ...patch, customer: { ...valid.customer, ...customer } }, NOW);

/** Asserts that `fn` throws a SidebandError with this code and param, whose message does not hold `secret`. */
function refuses(fn: () => unknown, code: string, param: string | undefined, secret?: string): SidebandError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof SidebandError, `expected ${code}, got ${error === undefined ? 'no error' : String((error as Error).name)}`);
  assert.equal(error.code, code);
  assert.equal(error.param, param);
  if (secret !== undefined) assert.ok(!error.message.includes(secret), `the ${code} message repeats the refused value`);
  return error;
}

const textFields = [
  { field: 'description', lineBreaks: true, parse: (v: string) => create({ description: v }) },
  { field: 'merchantReference', lineBreaks: false, parse: (v: string) => create({ merchantReference: v }) },
  { field: 'reason', lineBreaks: true, parse: (v: string) => parseMovement({ reason: v }, true) },
] as const;
const textField = fc.constantFrom(...textFields);
const plain = fc.string({ maxLength: 40 }).map((s) => s.replace(/\d/g, 'n'));

describe('the merchant API refuses bad input while parsing it', () => {
  describe('text fields', () => {
    it('refuse every control character (Unicode Cc) with FIELD_INVALID naming the field; tab, LF and CR only in free text', () => {
      const controls = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }));
      fc.assert(fc.property(textField, controls, plain, plain, (f, c, before, after) => {
        const text = `${before}${String.fromCharCode(c)}${after}`;
        if (f.lineBreaks && (c === 0x09 || c === 0x0a || c === 0x0d)) {
          const parsed = f.parse(text) as { description?: string | null; reason?: string | null };
          assert.equal(parsed.description ?? parsed.reason, text, 'kept as sent');
        } else {
          const e = refuses(() => f.parse(text), 'FIELD_INVALID', f.field);
          assert.match(e.message, new RegExp(`U\\+${c.toString(16).toUpperCase().padStart(4, '0')} at index ${before.length}`));
        }
      }), { numRuns: 400 });
      refuses(() => create({ description: 'A book\u0000' }), 'FIELD_INVALID', 'description');
      assert.equal(create({ description: 'Line one\r\nLine two\tend' }).description, 'Line one\r\nLine two\tend');
    });

    it('refuse a lone UTF-16 surrogate, keep a pair', () => {
      fc.assert(fc.property(textField, fc.integer({ min: 0xd800, max: 0xdfff }), plain, plain, (f, unit, before, after) => {
        refuses(() => f.parse(`${before}${String.fromCharCode(unit)}${after.replace(/[\ud800-\udfff]/g, '')}`), 'FIELD_INVALID', f.field);
      }));
      refuses(() => create({ description: '\udc00\ud800' }), 'FIELD_INVALID', 'description');
      refuses(() => create({ merchantReference: 'ref-\ud83d' }), 'FIELD_INVALID', 'merchantReference');
      assert.equal(create({ description: 'Gift \ud83c\udf81 wrapped' }).description, 'Gift \ud83c\udf81 wrapped');
    });

    it('refuse what looks like a card number with FIELD_HOLDS_CARD_NUMBER, without repeating it', () => {
      const spelling = fc.record({ sizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), seps: fc.array(fc.constantFrom('', ' ', '-'), { minLength: 1, maxLength: 3 }) });
      fc.assert(fc.property(textField, fc.nat(1000), spelling, plain, plain, (f, i, s, before, after) => {
        const number = testCardNumber(i);
        const spelled = grouped(number, s.sizes, s.seps);
        const e = refuses(() => f.parse(`${before} ${spelled} ${after}`), 'FIELD_HOLDS_CARD_NUMBER', f.field, spelled);
        assert.ok(!e.message.includes(number) && !e.message.includes(number.slice(-4)), 'not even the last four');
      }), { numRuns: 300 });
      const n = testCardNumber(3);
      refuses(() => create({ description: `Paid by card ${grouped(n, [4], [' '])} exp 12 26` }), 'FIELD_HOLDS_CARD_NUMBER', 'description', n.slice(0, 6));
      refuses(() => create({ merchantReference: `order-${n}` }), 'FIELD_HOLDS_CARD_NUMBER', 'merchantReference', n.slice(0, 6));
      // What merely has digits passes: dates, short references, a number that fails the Luhn check.
      const wrong = n.slice(0, -1) + String((Number(n.slice(-1)) + 1) % 10);
      for (const ok of ['order 2026/11/23-17', 'SKU 12345678', 'Flight LH 400, seat 12A', `order ${wrong}`]) {
        assert.ok(create({ description: ok, merchantReference: ok.slice(0, 200) }).description === ok);
      }
    });

    it('refuse wrong types and lengths with FIELD_INVALID, and take null as absent', () => {
      for (const bad of [17, true, ['a'], { text: 'a' }]) refuses(() => create({ description: bad }), 'FIELD_INVALID', 'description');
      refuses(() => create({ description: 'x'.repeat(501) }), 'FIELD_INVALID', 'description');
      refuses(() => create({ merchantReference: 'x'.repeat(201) }), 'FIELD_INVALID', 'merchantReference');
      refuses(() => parseMovement({ reason: 'x'.repeat(201) }, true), 'FIELD_INVALID', 'reason');
      assert.deepEqual([create({ description: null }).description, create({}).merchantReference], [null, null]);
    });

    it('never repeat an unknown field name or currency that is not code-shaped', () => {
      const n = testCardNumber(5);
      refuses(() => parseCreateAuthorization({ ...valid, [n]: 1 }, NOW), 'FIELD_UNKNOWN', undefined, n.slice(0, 6));
      refuses(() => create({}, { [n]: 1 }), 'FIELD_UNKNOWN', 'customer', n.slice(0, 6));
      refuses(() => create({ tip: 5 }), 'FIELD_UNKNOWN', 'tip');
      refuses(() => create({ currency: n }), 'CURRENCY_UNKNOWN', 'currency', n.slice(0, 6));
      assert.match(refuses(() => create({ currency: 'XYZ' }), 'CURRENCY_UNKNOWN', 'currency').message, /XYZ/);
    });
  });

  describe('customer.address', () => {
    it('refuses every notation but strict dotted decimal and RFC 4291 text, without repeating it', () => {
      const refused = [
        '0x7f000001', '127.1', '127.0.1', '0177.0.0.1', '127.0.0.01', '017.0.0.1', '2130706433', '0x7f.0.0.1', '1.2.3.256', '1.2.3.4.5',
        ' 192.0.2.10', '192.0.2.10 ', '192.0.2.10\n', '\t192.0.2.10', '192.0.2.10/32', '192.0.2.10:80', '[2001:db8::1]', 'fe80::1%eth0', 'fe80::1%25eth0',
        '::ffff:0177.0.0.1', '::ffff:127.1', '::ffff:0x7f000001', '1::2::3', '12345::', ':1::', '1:2:3:4:5:6:7:8:9', '2001:db8::g', '', 'localhost', '１９２.0.2.10',
      ];
      for (const address of refused) {
        const e = refuses(() => create({}, { address }), 'ADDRESS_INVALID', 'customer.address');
        if (address.length > 3) assert.ok(!e.message.includes(address), `${JSON.stringify(address)} is not repeated`);
      }
      fc.assert(fc.property(fc.ipV4Extended(), (address) => {
        fc.pre(!/^(0|[1-9]\d*)(\.(0|[1-9]\d*)){3}$/.test(address));
        refuses(() => create({}, { address }), 'ADDRESS_INVALID', 'customer.address');
      }), { numRuns: 500 });
      refuses(() => create({}, { address: 2130706433 }), 'FIELD_INVALID', 'customer.address');
    });

    it('accepts strict notations and answers RFC 5952 text; an IPv4-mapped address is its IPv4 address', () => {
      const cases: Array<[string, string]> = [
        ['192.0.2.10', '192.0.2.10'], ['0.0.0.0', '0.0.0.0'], ['2001:DB8::1', '2001:db8::1'], ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
        ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['::ffff:192.0.2.10', '192.0.2.10'], ['::FFFF:C000:020A', '192.0.2.10'],
        ['64:ff9b::192.0.2.10', '64:ff9b::c000:20a'], ['::1', '::1'], ['fe80::1', 'fe80::1'],
      ];
      for (const [address, canonical] of cases) assert.equal(create({}, { address }).customer.address, canonical, address);
      fc.assert(fc.property(fc.ipV4(), (address) => assert.equal(create({}, { address }).customer.address, address)));
      fc.assert(fc.property(fc.ipV6(), (address) => {
        // ipaddr.js reads the deprecated `::a.b.c.d` as mapped; RFC 4291 §2.5.5.1 does not.
        fc.pre(!/^::\d+\.\d+\.\d+\.\d+$/.test(address));
        let a: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.IPv6.parse(address);
        if (a.isIPv4MappedAddress()) a = a.toIPv4Address();
        assert.equal(canonicalAddress(address), a.toString());
      }), { numRuns: 1000 });
    });
  });

  describe('customer.observedAt', () => {
    it('accepts RFC 3339 with a zone, up to 60 s ahead', () => {
      const at = (observedAt: unknown) => create({}, { observedAt }).customer.observedAt;
      assert.equal(at('2026-11-23T12:00:00Z'), NOW);
      assert.equal(at('2026-11-23t12:00:00z'), NOW);
      assert.equal(at('2026-11-23T13:30:00+01:30'), NOW);
      assert.equal(at('2026-11-23T12:00Z'), NOW);
      assert.equal(at('2026-11-23T12:00:59.999999999Z'), NOW + 59_999);
      assert.equal(at('2024-02-29T00:00:00Z'), Date.parse('2024-02-29T00:00:00Z'));
      assert.equal(create({}, {}).customer.observedAt, undefined);
      fc.assert(fc.property(fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date(NOW + 60_000), noInvalidDate: true }), (d) => assert.equal(at(d.toISOString()), d.getTime())));
    });

    it('refuses a time further ahead than the 60 s skew', () => {
      refuses(() => create({}, { observedAt: '2026-11-23T12:01:01Z' }), 'FIELD_INVALID', 'customer.observedAt');
      fc.assert(fc.property(fc.integer({ min: 60_001, max: 10 * 365 * 86_400_000 }), (ahead) => {
        refuses(() => create({}, { observedAt: new Date(NOW + ahead).toISOString() }), 'FIELD_INVALID', 'customer.observedAt');
      }));
    });

    it('refuses what is not an RFC 3339 time with a zone', () => {
      const refused: unknown[] = [
        '2026-11-23', '2026-11-23T12:00:00', '2026-11-23 12:00:00Z', '2026-11-23T12Z', '20261123T120000Z', '2026-11-23T12:00:00 Z', ' 2026-11-23T12:00:00Z',
        '2026-02-29T00:00:00Z', '2026-02-30T12:00:00Z', '2026-04-31T12:00:00Z', '2026-13-01T00:00:00Z', '2026-11-23T24:00:00Z', '2026-11-23T23:59:60Z', '2026-11-23T12:60:00Z',
        '2026-11-23T12:00:00+24:00', '2026-11-23T12:00:00+0100', '2026-11-23T12:00:00.1234567890Z', 'Mon, 23 Nov 2026 12:00:00 GMT', '+002026-11-23T12:00:00Z',
        NOW, null, true, ['2026-11-23T12:00:00Z'], { at: '2026-11-23T12:00:00Z' },
      ];
      for (const observedAt of refused) refuses(() => create({}, { observedAt }), 'FIELD_INVALID', 'customer.observedAt');
    });
  });

  describe('amounts', () => {
    it('refuse each way an amount can be wrong with AMOUNT_INVALID and a message of its own', () => {
      const cases: Array<[unknown, RegExp]> = [
        ['1999', /not a string/], [null, /not null/], [true, /not a boolean/], [[1999], /not an array/], [{ value: 1999 }, /not an object/],
        [Number.NaN, /finite/], [Number.POSITIVE_INFINITY, /finite/], [-1, /negative/], [0, /at least 1/], [-0, /at least 1/],
        [1_000_000_000_001, /at most 1000000000000/], [Number.MAX_SAFE_INTEGER + 1, /at most/], [1e300, /at most/], [19.99, /whole number/],
      ];
      for (const [amount, message] of cases) {
        assert.match(refuses(() => create({ amount }), 'AMOUNT_INVALID', 'amount').message, message, String(amount));
        if (amount !== 0 && !Object.is(amount, -0)) assert.match(refuses(() => parseMovement({ amount }, true), 'AMOUNT_INVALID', 'amount').message, message);
      }
      refuses(() => parseMovement({ amount: 0 }, false), 'AMOUNT_INVALID', 'amount');
      refuses(() => create({ amount: undefined }), 'FIELD_INVALID', 'amount');
    });

    it('say how many decimal places the currency has when the amount is a fraction of a minor unit', () => {
      assert.match(refuses(() => create({ amount: 19.99, currency: 'EUR' }), 'AMOUNT_INVALID', 'amount').message, /EUR has 2 decimal places, so 19\.99 EUR is 1999/);
      assert.match(refuses(() => create({ amount: 1.5, currency: 'JPY' }), 'AMOUNT_INVALID', 'amount').message, /JPY has no minor unit/);
      assert.match(refuses(() => create({ amount: 0.5, currency: 'BHD' }), 'AMOUNT_INVALID', 'amount').message, /BHD has 3 decimal places, so 1\.999 BHD is 1999/);
      fc.assert(fc.property(fc.double({ min: -1e13, max: 1e13, noNaN: true }), fc.constantFrom('EUR', 'JPY', 'KWD'), (amount, currency) => {
        if (Number.isInteger(amount) && amount >= 1 && amount <= 1e12) assert.equal(create({ amount, currency }).amount, amount);
        else refuses(() => create({ amount, currency }), 'AMOUNT_INVALID', 'amount');
      }), { numRuns: 1000 });
      fc.assert(fc.property(fc.integer({ min: 1, max: 1e12 }), (amount) => assert.equal(create({ amount }).amount, amount)));
    });
  });

  describe('secure-channel exchanges', () => {
    const exchange = (patch: Record<string, unknown>) => parseExchangeRequest({ authorizationId: 'auth_1', firstSender: 'merchant', items: { provider: 0, merchant: 1 }, ...patch });
    it('refuse control characters in every string, a number that is not an address-of-record number, and a card number as exchange id', () => {
      for (const field of ['authorizationId', 'exchangeId', 'number', 'token']) refuses(() => exchange({ [field]: 'exc_abc\u0000def' }), 'FIELD_INVALID', field);
      refuses(() => exchange({ number: '+49 30 1234' }), 'FIELD_INVALID', 'number');
      refuses(() => exchange({ token: 'ab\ud800' }), 'FIELD_INVALID', 'token');
      refuses(() => exchange({ items: { provider: 0, merchant: 1, extra: 2 } }), 'FIELD_UNKNOWN', 'items.extra');
      refuses(() => exchange({ authorizationId: undefined }), 'FIELD_INVALID', 'authorizationId');
      const n = testCardNumber(9);
      refuses(() => exchange({ exchangeId: `exc_${n}` }), 'FIELD_HOLDS_CARD_NUMBER', 'exchangeId', n.slice(0, 6));
      assert.deepEqual(exchange({ number: '+4930123456', token: 'tok', exchangeId: 'exc_abcdefghijklmnop' }), { authorizationId: 'auth_1', firstSender: 'merchant', items: { provider: 0, merchant: 1 }, exchangeId: 'exc_abcdefghijklmnop', number: '+4930123456', token: 'tok' });
    });
  });
});

for (const dialect of dialects) {
  describe(`bad input through the merchant API on ${dialect}: refused before anything is written or sent`, () => {
    let m: MerchantSetup;
    let address: string;
    let acquirer: SimulatedAcquirer;
    const card = testCardNumber(41);

    before(async () => {
      m = await merchantSetup(dialect, `request-validation-${dialect}`);
      address = (await shopper(m, 'valerie', { spendingLimit: 100_000, autoApproveLimit: 100_000, card: { number: card, expiry: futureExpiry(), creditLimit: 100_000 } })).address;
      acquirer = m.t.gateway.certification.acquirer as SimulatedAcquirer;
      assert.ok(Array.isArray(acquirer.calls), 'the gateway runs the simulated acquirer');
    });
    after(async () => m?.dispose());

    /** What a request could have changed: rows of the money tables, holds, and calls to the acquirer. */
    const state = async () => {
      const db = m.t.gateway.context.store.db;
      const count = async (table: 'authorizations' | 'authorization_events' | 'ledger_entries' | 'webhook_deliveries') => Number((await db.selectFrom(table).select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const used = await db.selectFrom('subscribers').select('amount_used').where('login', '=', 'valerie').executeTakeFirstOrThrow();
      return { authorizations: await count('authorizations'), events: await count('authorization_events'), ledger: await count('ledger_entries'), webhooks: await count('webhook_deliveries'), held: Number(used.amount_used), acquirerCalls: acquirer.calls.length };
    };

    const refusedWithNothingDone = async (request: () => Promise<unknown>, code: string, param: string) => {
      const before = await state();
      await assert.rejects(request(), (e: unknown) => {
        assert.ok(e instanceof SidebandApiError, 'an API error');
        assert.deepEqual([e.status, e.code, e.param], [400, code, param]);
        return true;
      });
      assert.deepEqual(await state(), before, `${code} on ${param}: nothing written, the acquirer not called`);
    };

    it('refuses NUL and other control characters, lone surrogates and card numbers in text fields', async () => {
      const body = (extra: Record<string, unknown>, customer: Record<string, unknown> = {}) => ({ customer: { address, ...customer }, amount: 1500, currency: 'EUR', ...extra });
      const create = (extra: Record<string, unknown>, customer?: Record<string, unknown>) => () => m.client.authorizations.create(body(extra, customer) as never);
      await refusedWithNothingDone(create({ description: 'A book\u0000' }), 'FIELD_INVALID', 'description');
      await refusedWithNothingDone(create({ merchantReference: 'order-17\u0000' }), 'FIELD_INVALID', 'merchantReference');
      await refusedWithNothingDone(create({ merchantReference: 'order\u001b[31m-17' }), 'FIELD_INVALID', 'merchantReference');
      await refusedWithNothingDone(create({ merchantReference: 'order\n17' }), 'FIELD_INVALID', 'merchantReference');
      await refusedWithNothingDone(create({ description: 'A book \ud800' }), 'FIELD_INVALID', 'description');
      await refusedWithNothingDone(create({ description: `Paid with ${grouped(card, [4], [' '])}` }), 'FIELD_HOLDS_CARD_NUMBER', 'description');
      await refusedWithNothingDone(create({ merchantReference: card }), 'FIELD_HOLDS_CARD_NUMBER', 'merchantReference');
      await refusedWithNothingDone(create({ description: grouped(card, [4], ['-']) }), 'FIELD_HOLDS_CARD_NUMBER', 'description');
    });

    it('refuses non-canonical addresses, malformed times and bad amounts', async () => {
      const create = (extra: Record<string, unknown>, customer: Record<string, unknown> = {}) => () => m.client.authorizations.create({ customer: { address, ...customer }, amount: 1500, currency: 'EUR', ...extra } as never);
      const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
      const legacy = [`0x${((a << 24 | b << 16 | c << 8 | d) >>> 0).toString(16)}`, `${a}.${b}.${c * 256 + d}`, `0${a.toString(8)}.${b}.${c}.${d}`, `${a}.${b}.${c}.0${d}`, ` ${address}`, 'fe80::1%eth0'];
      for (const notation of legacy) await refusedWithNothingDone(create({}, { address: notation }), 'ADDRESS_INVALID', 'customer.address');
      for (const observedAt of ['2026-11-23', '2026-11-23T12:00:00', Date.now(), new Date(Date.now() + 120_000).toISOString()]) {
        await refusedWithNothingDone(create({}, { observedAt }), 'FIELD_INVALID', 'customer.observedAt');
      }
      for (const amount of [15.5, -1500, 0, '1500', Number.MAX_SAFE_INTEGER + 1]) await refusedWithNothingDone(create({ amount }), 'AMOUNT_INVALID', 'amount');
    });

    it('refuses a list filter time that is not RFC 3339 with a zone, naming the filter, and takes one that is', async () => {
      // Each of these Date.parse would read: a day the month lacks, a time in the server's zone, a bare date, a bare year.
      for (const [name, value] of [['createdAfter', '2026-02-30T00:00:00Z'], ['createdBefore', '2026-11-23T12:00:00'], ['createdAfter', '2026-11-23'], ['createdBefore', '2026'], ['createdAfter', 'Mon, 23 Nov 2026 12:00:00 GMT']] as const) {
        await assert.rejects(m.client.authorizations.list({ [name]: value }), (e: unknown) => {
          assert.ok(e instanceof SidebandApiError, 'an API error');
          assert.deepEqual([e.status, e.code, e.param], [400, 'FIELD_INVALID', name], `${name}=${value}`);
          assert.match(e.message, /RFC 3339/);
          return true;
        });
      }
      const list = await m.client.authorizations.list({ createdAfter: '2000-01-01T00:00:00+02:00', createdBefore: '2999-12-31T23:59:59.5z' });
      assert.equal(list.object, 'list');
    });

    it('accepts what is valid: line breaks in a description, the IPv4-mapped address, a time within the skew', async () => {
      const before = await state();
      const auth = await m.client.authorizations.create({
        customer: { address: `::ffff:${address}`, observedAt: new Date(Date.now() + 30_000).toISOString() },
        amount: 1500, currency: 'EUR', description: 'Two books:\r\n\tA\r\n\tB', merchantReference: 'order/2026/17',
      });
      assert.equal(auth.status, 'approved');
      assert.equal(auth.description, 'Two books:\r\n\tA\r\n\tB');
      const after = await state();
      assert.equal(after.authorizations, before.authorizations + 1, 'the check above would see a write');
      assert.equal(after.acquirerCalls, before.acquirerCalls + 1, 'the check above would see an acquirer call');
    });

    it('refuses a refund reason with NUL or a card number before the acquirer refunds anything', async () => {
      const auth = await m.client.authorizations.create({ customer: { address }, amount: 1200, currency: 'EUR' });
      const captures = () => acquirer.calls.filter((c) => c.op === 'capture').length;
      const before = captures();
      await m.client.authorizations.capture(auth.id);
      // The acquirer may be told of the capture after the answer (an outbox): wait for it,
      // so that its call is not taken for one the refused requests below made.
      for (const deadline = Date.now() + 10_000; captures() === before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      assert.equal(captures(), before + 1, 'the capture reached the acquirer');
      await refusedWithNothingDone(() => m.client.authorizations.refund(auth.id, { reason: 'damaged\u0000' }), 'FIELD_INVALID', 'reason');
      await refusedWithNothingDone(() => m.client.authorizations.refund(auth.id, { reason: `refund to ${card}` }), 'FIELD_HOLDS_CARD_NUMBER', 'reason');
      await refusedWithNothingDone(() => m.client.authorizations.refund(auth.id, { amount: 1.5 }), 'AMOUNT_INVALID', 'amount');
      await refusedWithNothingDone(() => m.client.authorizations.capture(auth.id, { amount: -1 }), 'AMOUNT_INVALID', 'amount');
      const refund = await m.client.authorizations.refund(auth.id, { reason: 'Damaged in transit.\r\nSorry.' });
      assert.equal(refund.amount, 1200);
    });

    it('the operator\'s resolve route is as strict, and answers the canonical address', async () => {
      const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
      const hex = `0x${((a << 24 | b << 16 | c << 8 | d) >>> 0).toString(16)}`;
      const refused = await m.t.operator(`/v1/resolve?address=${encodeURIComponent(hex)}`);
      assert.equal(refused.status, 400);
      assert.equal((refused.body as { error: { code: string } }).error.code, 'ADDRESS_INVALID');
      const found = await m.t.operator(`/v1/resolve?address=${encodeURIComponent(`::FFFF:${address}`)}`);
      assert.equal(found.status, 200);
      assert.equal((found.body as { address: string }).address, address);
    });

    it('no refused card number is anywhere in the store or in an answer', async () => {
      const db = m.t.gateway.context.store.db;
      const tables = dialect === 'sqlite'
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
        : (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(db)).rows.map((r) => r.name);
      assert.ok(tables.includes('authorizations') && tables.includes('idempotency_keys'));
      const spellings = [card, grouped(card, [4], [' ']), grouped(card, [4], ['-'])];
      for (const table of tables) {
        const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
        const text = JSON.stringify(rows);
        assert.ok(!spellings.some((s) => text.includes(s)), `the card number is in clear in ${table}`);
      }
      assert.ok(m.received.responses.length > 10);
      assert.ok(!m.received.responses.some((r) => spellings.some((s) => r.includes(s))), 'an answer repeats the card number');
    });
  });
}
