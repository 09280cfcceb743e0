import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { luhnValid } from '../../src/core/card/card-number.ts';
import { findCardNumbers, holdsCardNumber } from '../../src/core/card/card-numbers-in-text.ts';
import { redactCardNumbers, redactLogLine } from '../../src/observability/redact.ts';
import { grouped, withCheckDigit } from '../support/card-shapes.ts';
import { testCardNumber } from '../support/test-cards.ts';

// Every number here but the published test number 4111111111111111 is made at run time
// (test/support/test-cards.ts), and no assertion message carries one: the never-in-clear
// scan reads the test output too.

const groupSizes = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 });
const separators = fc.array(fc.constantFrom('', ' ', '-'), { minLength: 1, maxLength: 4 });
// Text around a card number: no digits (they would join the run), and no `%` (`%2` before a digit would read as an escape).
const around = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\d%]/g, 'x'));

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
      assert.ok(!holdsCardNumber(`ref ${grouped(n, [8], ['x'])}`), 'a letter ends a run');
      assert.ok(!holdsCardNumber(`ref ${grouped(n, [8], ['    '])}`), 'four separators end a run');
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

// What a card number is spelled with besides ASCII digits and single spaces or dashes.
const TEST_PAN = '4111111111111111';
// Zeros of decimal digit sets NFKC leaves alone (Arabic-Indic, Devanagari, Thai, Adlam…) or
// maps (fullwidth, mathematical bold, and double-struck, which shares bold's run of code points).
const digitZeros = [0x30, 0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10, 0x1d7ce, 0x1d7d8, 0x1e950, 0x104a0];
// Zero-width characters and the soft hyphen (Unicode Cf): invisible between digits.
const formatChars = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad'];
// One separator each: a form sent by GET spells a space as `+` or `%20`.
const separatorUnits = [' ', '-', '/', '_', '\u2013', '\u2014', '\t', '\r', '\n', '+', '%20', '%2D', '%2d', '%2F', '\u00a0', '\u3000'];

interface Spelling {
  readonly sizes: number[];
  readonly separators: string[];
  readonly zeros: number[];
  readonly formats: string[];
}

const spellings: fc.Arbitrary<Spelling> = fc.record({
  sizes: groupSizes,
  separators: fc.array(fc.oneof(fc.constant(''), fc.array(fc.constantFrom(...separatorUnits), { minLength: 1, maxLength: 3 }).map((a) => a.join(''))), { minLength: 1, maxLength: 4 }),
  zeros: fc.array(fc.constantFrom(...digitZeros), { minLength: 1, maxLength: 19 }),
  formats: fc.array(fc.oneof(fc.constant(''), fc.constantFrom(...formatChars)), { minLength: 1, maxLength: 19 }),
});

/** `digits` in groups, each digit in a digit set and maybe after a format character, the groups joined by separators (all cycled). */
function spell(digits: string, s: Spelling): string {
  const each = [...digits].map((d, k) => (k === 0 ? '' : s.formats[k % s.formats.length]!) + String.fromCodePoint(s.zeros[k % s.zeros.length]! + Number(d)));
  let out = '';
  for (let at = 0, k = 0; at < each.length; k++) {
    if (at > 0) out += s.separators[k % s.separators.length]!;
    const size = s.sizes[k % s.sizes.length]!;
    out += each.slice(at, at + size).join('');
    at += size;
  }
  return out;
}

const masked = (n: string): string => `[card ${n.slice(0, 6)}…${n.slice(-4)}]`;

describe('card numbers spelled with other separators, digits and invisible characters', () => {
  const fixed = [
    '4111/1111/1111/1111', '4111_1111_1111_1111', '4111\u20131111\u20131111\u20131111',
    '4111\u20141111\u20141111\u20141111', '4111  1111  1111  1111', '4111\t1111\t1111\t1111', '4111\r\n1111\r\n1111\r\n1111',
    '4111+1111+1111+1111', '4111%201111%201111%201111', '4111%2D1111%2D1111%2D1111', '4111%2d1111%2d1111%2d1111',
    ...formatChars.map((f) => `4111${f}1111${f}1111${f}1111`),
    ...formatChars.map((f) => `4111 ${f}1111 1111${f} 1111`),
    ...[0x660, 0x6f0, 0x966].map((zero) => [...'4111 1111 1111 1111'].map((c) => (c === ' ' ? c : String.fromCodePoint(zero + Number(c)))).join('')),
  ];

  it('refuses and masks the fixed spellings of the test number', () => {
    for (const [i, spelled] of fixed.entries()) {
      assert.ok(holdsCardNumber(`Order ${spelled} thanks`), `spelling #${i} is refused`);
      assert.equal(redactCardNumbers(`paid with ${spelled}, thanks`), `paid with ${masked(TEST_PAN)}, thanks`, `spelling #${i} is masked, separators included`);
    }
  });

  it('finds a Luhn-valid run of 13 to 19 digits in any decimal digit set, with format characters and up to three separators between groups', () => {
    fc.assert(fc.property(fc.integer({ min: 13, max: 19 }), fc.stringMatching(/^\d{18}$/), spellings, around, around, (length, seed, s, before, after) => {
      const number = withCheckDigit(seed.slice(0, length - 1));
      const text = `${before}${spell(number, s)}${after}`;
      assert.ok(holdsCardNumber(text));
      const found = findCardNumbers(text, 13);
      assert.ok(found.length === 1 && found[0]!.digits === number, 'the digits found are the number');
    }), { numRuns: 1000 });
  });

  it('masks in logs the whole span, separators and invisible characters included, and nothing around it', () => {
    fc.assert(fc.property(fc.nat(1000), spellings, around, around, (i, s, before, after) => {
      const n = testCardNumber(i);
      assert.equal(redactCardNumbers(`${before}${spell(n, s)}${after}`), `${before}${masked(n)}${after}`);
    }), { numRuns: 500 });
  });

  it('leaves numbers failing the Luhn check, and runs split by a letter or by four separators or more, however spelled', () => {
    const letters = fc.constantFrom('x', 'é', 'ж', 'ب', 'Ⅻ');
    const manySeparators = fc.array(fc.constantFrom(...separatorUnits), { minLength: 4, maxLength: 6 }).map((a) => a.join(''));
    fc.assert(fc.property(fc.nat(1000), fc.nat(15), fc.integer({ min: 1, max: 9 }), spellings, fc.integer({ min: 4, max: 12 }), letters, manySeparators, (i, pos, delta, s, cut, letter, gap) => {
      const n = testCardNumber(i);
      const changed = n.slice(0, pos) + String((Number(n[pos]) + delta) % 10) + n.slice(pos + 1);
      // In one group: each stretch of groups is tried, and one of 13 digits or more passes one time in ten.
      assert.ok(!holdsCardNumber(`ref ${spell(changed, { ...s, sizes: [16] })}`), 'a changed digit fails the Luhn check');
      assert.ok(!holdsCardNumber(`ref ${spell(n.slice(0, cut), s)}${letter}${spell(n.slice(cut), s)}`), 'a letter ends a run');
      assert.ok(!holdsCardNumber(`ref ${spell(n.slice(0, cut), s)}${gap}${spell(n.slice(cut), s)}`), 'four separators end a run');
    }), { numRuns: 500 });
  });

  it('still leaves dates, times, amounts and short ids in merchants\' text', () => {
    for (const text of ['order 2026-11-23 #17, 3 items', 'total 1,234.56 EUR (incl. 19% VAT)', 'call +1 (415) 555-2671', 'from 10.0.0.1 at 12:30:45', 'ref A-123/456', 'at 2026-11-23 10:00:00']) {
      assert.ok(!holdsCardNumber(text), text);
    }
  });

  it('leaves addresses and times readable in the logs, even when their digits would pass the Luhn check', () => {
    // Twelve digits each, Luhn-valid run together: dots and colons end a run.
    for (const text of ['NAS 192.168.100.118 restarted', 'at 2026-11-23T10:00:07.000Z', 'from [2001:db8::1]:1812', 'total 1,234,567,890.12 EUR']) {
      assert.equal(redactCardNumbers(text), text, text);
    }
    assert.ok(luhnValid('192168100118'), 'the address above is a Luhn-valid run of digits');
  });

  it('handles a 100 kB line of digits and separators in one pass', { timeout: 20_000 }, () => {
    const card = testCardNumber(3);
    const size = 100_000;
    const repeat = (unit: string): string => unit.repeat(Math.ceil(size / unit.length));
    let x = 12345;
    const random = Array.from({ length: size }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return '0123456789 -./+%_\u200b'[x % 20]!;
    }).join('');
    for (const line of [repeat('1 '), repeat('12-'), repeat('1%20'), repeat('1%2'), repeat('%%%1'), repeat('1\u200b'), repeat('\u200b'), repeat('1   '), repeat('٤ '), random]) {
      const found = findCardNumbers(`${line}x${card}`, 12);
      for (const f of found) {
        assert.ok(f.digits.length >= 12 && f.digits.length <= 19 && luhnValid(f.digits), 'each run found is card-shaped');
        assert.ok(f.start < f.end && f.end <= line.length + 1 + card.length);
      }
      const last = found.at(-1)!;
      assert.ok(last.digits === card && last.start === line.length + 1 && last.end === line.length + 1 + card.length, 'the card after the line is found');
      const out = redactLogLine(`${JSON.stringify({ level: 30, msg: `${line}x${card}` })}\n`);
      const parsed = JSON.parse(out) as { msg: string };
      assert.ok(parsed.msg.endsWith(`x${masked(card)}`) && !out.includes(card));
    }
  });
});
