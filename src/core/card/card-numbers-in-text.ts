import { luhnValid } from './card-number.ts';

/** A card-number-shaped stretch of a text: `text.slice(start, end)`, and its digits (ASCII). */
export interface CardNumberInText {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
}

/** ISO/IEC 7812-1: a primary account number has at most 19 digits. */
const MAX_PAN_DIGITS = 19;

// Between two groups of one card number: `4111 - 1111`, `4111\r\n1111`, `4111%20%201111`.
// More than this ends the run, so that numbers in a table or a list are not joined.
const MAX_SEPARATORS = 3;

const decimalDigit = /\p{Nd}/uy;
const formatCharacter = /\p{Cf}/uy;
// What people put between the groups of a card number: spaces of any kind, line breaks,
// dashes of any kind, `/`, `_`, and `+` (a space in a form sent by GET). Anything else ends
// a run: a dot, a colon or a comma would join the parts of addresses (`192.168.100.200`),
// times and amounts, which must stay readable in the logs.
const separator = /[\s\p{Pd}/_+]/uy;
const ASCII_SEPARATORS = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x2b, 0x2d, 0x2f, 0x5f]);

const nextDigit = /[%\p{Nd}]/gu;

const at = (pattern: RegExp, text: string, i: number): boolean => {
  pattern.lastIndex = i;
  return pattern.test(text);
};

const digitValues = new Map<number, number>();

/**
 * The value of a decimal digit (Unicode Nd). Unicode encodes each set of decimal digits
 * as ten consecutive code points from 0 to 9 (a stability policy), and sets that touch
 * (mathematical bold, double-struck…) are whole, so a digit's value is its distance from
 * the start of its run of Nd code points, modulo ten.
 */
function digitValue(codePoint: number): number {
  if (codePoint <= 0x39) return codePoint - 0x30;
  let value = digitValues.get(codePoint);
  if (value === undefined) {
    let first = codePoint;
    while (at(decimalDigit, String.fromCodePoint(first - 1), 0)) first--;
    value = (codePoint - first) % 10;
    digitValues.set(codePoint, value);
  }
  return value;
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/**
 * Whether `text` holds at `i` one of those separators percent-encoded (RFC 3986 §2.1): a
 * form sent by GET spells `4111 1111` as `4111%201111` (or `4111+1111`). Read as one
 * separator, so its hex digits are never taken for the card's.
 */
function percentEncodedSeparator(text: string, i: number): boolean {
  if (text.charCodeAt(i) !== 0x25 || i + 2 >= text.length) return false;
  const hi = text.charCodeAt(i + 1);
  const lo = text.charCodeAt(i + 2);
  if (!isHex(hi) || !isHex(lo)) return false;
  return ASCII_SEPARATORS.has(Number.parseInt(text.slice(i + 1, i + 3), 16));
}

interface Group {
  readonly at: number;
  readonly end: number;
  readonly digits: string;
}

/** The groups of one run read so far, and the group being read (`groupAt` < 0: none). */
class Run {
  groups: Group[] = [];
  digits = 0;
  groupAt = -1;
  groupEnd = -1;
  groupDigits = '';
  separators = 0;

  get empty(): boolean {
    return this.groupAt < 0 && this.groups.length === 0;
  }

  closeGroup(): void {
    if (this.groupAt < 0) return;
    this.groups.push({ at: this.groupAt, end: this.groupEnd, digits: this.groupDigits });
    this.digits += this.groupDigits.length;
    this.groupAt = -1;
    this.groupDigits = '';
    this.separators = 0;
  }

  close(minDigits: number, found: CardNumberInText[]): void {
    if (this.empty) return;
    this.closeGroup();
    if (this.digits >= minDigits) cardNumbersInRun(this.groups, minDigits, found);
    this.groups = [];
    this.digits = 0;
  }
}

/**
 * Finds every stretch of `text` that looks like a card number: `minDigits` to 19 decimal
 * digits of any script (Unicode Nd, each read as its value), in groups with up to three
 * separators (see `separator`; `%20` counting as one) between them, that
 * pass the Luhn check. Format characters (Unicode Cf: zero-width spaces and joiners, the
 * soft hyphen) are invisible and ignored wherever they are.
 *
 * A stretch starts and ends on a group boundary and never inside a group, so a card number
 * followed by ` 12 26` (an expiry) is found, while a long contiguous id is not cut into
 * windows (each window of an arbitrary digit string passes the Luhn check one time in ten).
 * Of the stretches starting at one group the longest is taken. One pass over the text, with
 * at most 19 groups tried from each: linear in its length whatever it holds.
 */
export function findCardNumbers(text: string, minDigits: number): CardNumberInText[] {
  const found: CardNumberInText[] = [];
  const run = new Run();
  for (let i = 0; i < text.length; ) {
    if (run.empty) {
      // Outside any run nothing but a digit matters (or a `%`, lest an escape's hex digits
      // be read as the card's): the regex engine finds the next one far faster than this loop.
      nextDigit.lastIndex = i;
      const next = nextDigit.exec(text);
      if (next === null) break;
      i = next.index;
    }
    const c = text.codePointAt(i)!;
    const width = c > 0xffff ? 2 : 1;
    const ascii = c < 0x80;
    if (ascii ? c >= 0x30 && c <= 0x39 : at(decimalDigit, text, i)) {
      if (run.groupAt < 0) {
        if (run.separators > MAX_SEPARATORS) run.close(minDigits, found);
        run.groupAt = i;
      }
      run.groupDigits += String.fromCharCode(0x30 + digitValue(c));
      run.groupEnd = i + width;
      i += width;
    } else if (!ascii && at(formatCharacter, text, i)) {
      i += width;
    } else if (percentEncodedSeparator(text, i) || (ascii ? ASCII_SEPARATORS.has(c) : at(separator, text, i))) {
      run.closeGroup();
      run.separators++;
      i += c === 0x25 ? 3 : width;
    } else {
      run.close(minDigits, found);
      i += width;
    }
  }
  run.close(minDigits, found);
  return found;
}

/** The card numbers among one run of groups, each taken from its first group as far as the Luhn check allows. */
function cardNumbersInRun(groups: readonly Group[], minDigits: number, found: CardNumberInText[]): void {
  for (let i = 0; i < groups.length; ) {
    let digits = '';
    let best = -1;
    let bestDigits = '';
    for (let j = i; j < groups.length; j++) {
      digits += groups[j]!.digits;
      if (digits.length > MAX_PAN_DIGITS) break;
      if (digits.length >= minDigits && luhnValid(digits)) {
        best = j;
        bestDigits = digits;
      }
    }
    if (best < 0) {
      i++;
      continue;
    }
    found.push({ start: groups[i]!.at, end: groups[best]!.end, digits: bestDigits });
    i = best + 1;
  }
}

/**
 * Whether a text a merchant sends holds something that looks like a card number: 13 to
 * 19 digits (the shortest card number a brand in card-number.ts issues has 13), however
 * grouped and spelled (see findCardNumbers), passing the Luhn check. NFKC first, so that
 * superscript or circled digits, which are not decimal digits, are read as digits too. An
 * order number of that shape is refused as well, one time in ten: the price of never
 * storing a card number in clear.
 */
export function holdsCardNumber(text: string): boolean {
  return findCardNumbers(text.normalize('NFKC'), 13).length > 0;
}
