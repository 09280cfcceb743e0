import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findCardNumbers, holdsCardNumber } from '../../src/core/card/card-numbers-in-text.ts';
import { redactCardNumbers } from '../../src/observability/redact.ts';
import { grouped, withCheckDigit } from '../support/card-shapes.ts';
import { testCardNumber } from '../support/test-cards.ts';

// Every number here is made at run time (test/support/test-cards.ts), and no assertion
// message carries one: the never-in-clear scan reads the test output too.

const groupSizes = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 });
const separators = fc.array(fc.constantFrom('', ' ', '-'), { minLength: 1, maxLength: 4 });
// Text around a card number: no digits (they would join the run) and no separator at the edges.
const around = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\d\- ]/g, 'x'));

describe('card numbers in text', () => {
  it('finds a Luhn-valid run of 13 to 19 digits however it is grouped by single spaces or dashes', () => {
    fc.assert(fc.property(fc.integer({ min: 13, max: 19 }), fc.stringMatching(/^\d{18}$/), groupSizes, separators, around, around, (length, seed, sizes, seps, before, after) => {
      const number = withCheckDigit(seed.slice(0, length - 1));
      const text = `${before}${grouped(number, sizes, seps)}${after}`;
      assert.ok(holdsCardNumber(text));
      const [found] = findCardNumbers(text, 13);
      assert.ok(found !== undefined && found.digits === number, 'the digits found are the number');
    }), { numRuns: 500 });
  });

  it('finds a card number followed by an expiry or other short groups, and fullwidth digits', () => {
    fc.assert(fc.property(fc.nat(1000), fc.constantFrom(' 12 26', '-12-26', ' 1226', ' 7'), (i, tail) => {
      const number = testCardNumber(i);
      assert.ok(holdsCardNumber(`card ${grouped(number, [4], [' '])}${tail} thanks`));
      const fullwidth = [...number].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
      assert.ok(holdsCardNumber(`card ${fullwidth}`), 'NFKC reads fullwidth digits');
      assert.ok(holdsCardNumber(`card ${grouped(number, [4], ['\u00a0'])}`), 'NFKC reads a no-break space as a space');
    }));
  });

  it('leaves runs that fail the Luhn check, are shorter than 13 digits, or are split by other characters', () => {
    fc.assert(fc.property(fc.nat(1000), fc.nat(15), fc.integer({ min: 1, max: 9 }), (i, pos, delta) => {
      const n = testCardNumber(i);
      const changed = n.slice(0, pos) + String((Number(n[pos]) + delta) % 10) + n.slice(pos + 1);
      assert.ok(!holdsCardNumber(`ref ${changed}`));
      assert.ok(!holdsCardNumber(`ref ${grouped(n, [4], ['/'])}`), 'a slash is not a separator');
      assert.ok(!holdsCardNumber(`ref ${grouped(n, [4], ['  '])}`), 'two spaces end a run');
    }));
    fc.assert(fc.property(fc.stringMatching(/^\d{11}$/), (body) => {
      assert.ok(!holdsCardNumber(`order ${withCheckDigit(body)}`), '12 digits are not a card number for a merchant');
    }));
    assert.ok(!holdsCardNumber('order 2026-11-23 #17, 3 items'));
  });

  it('masks in logs every run it finds, with twelve digits or more', () => {
    fc.assert(fc.property(fc.nat(1000), (i) => {
      const n = testCardNumber(i);
      for (const spelled of [n, grouped(n, [4], [' ']), grouped(n, [4], ['-']), `${grouped(n, [4], [' '])} 12 26`]) {
        const out = redactCardNumbers(`{"level":30,"time":1763856000000,"msg":"paid with ${spelled}","port":1812}`);
        assert.ok(!out.includes(spelled) && !out.includes(n), 'the number is masked');
        assert.ok(out.includes(`[card ${n.slice(0, 6)}…${n.slice(-4)}]`), 'BIN and last four are kept');
        assert.ok(out.includes('"port":1812'));
      }
    }));
    fc.assert(fc.property(fc.stringMatching(/^\d{11}$/), (body) => {
      assert.ok(!redactCardNumbers(`id ${withCheckDigit(body)}`).includes(body), 'twelve Luhn-valid digits are masked in logs');
    }));
  });
});
