import { luhnValid } from './card-number.ts';

/** A card-number-shaped stretch of a text: `text.slice(start, end)`, and its digits. */
export interface CardNumberInText {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
}

// Digits in groups joined by single spaces or dashes: `4111111111111111`, `4111 1111-1111 1111`.
const digitGroups = /\d+(?:[ -]\d+)*/g;

/** ISO/IEC 7812-1: a primary account number has at most 19 digits. */
const MAX_PAN_DIGITS = 19;

/**
 * Finds every stretch of `text` that looks like a card number: `minDigits` to 19 digits,
 * in groups joined by single spaces or dashes, that pass the Luhn check. A stretch starts
 * and ends on a group boundary and never inside a group, so a card number followed by
 * ` 12 26` (an expiry) is found, while a long contiguous id is not cut into windows (each
 * window of an arbitrary digit string passes the Luhn check one time in ten). Of the
 * stretches starting at one group the longest is taken.
 */
export function findCardNumbers(text: string, minDigits: number): CardNumberInText[] {
  const found: CardNumberInText[] = [];
  for (const run of text.matchAll(digitGroups)) {
    if (run[0].length < minDigits) continue;
    const groups: Array<{ at: number; digits: string }> = [];
    let total = 0;
    for (const g of run[0].matchAll(/\d+/g)) {
      groups.push({ at: run.index! + g.index!, digits: g[0] });
      total += g[0].length;
    }
    if (total < minDigits) continue;
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
      const last = groups[best]!;
      found.push({ start: groups[i]!.at, end: last.at + last.digits.length, digits: bestDigits });
      i = best + 1;
    }
  }
  return found;
}

/**
 * Whether a text a merchant sends holds something that looks like a card number: 13 to
 * 19 digits (the shortest card number a brand in card-number.ts issues has 13), grouped by single spaces or
 * dashes or not, passing the Luhn check. NFKC first, so that fullwidth digits and
 * no-break spaces are read as digits and spaces. An order number of that shape is refused
 * as well, one time in ten: the price of never storing a card number in clear.
 */
export function holdsCardNumber(text: string): boolean {
  return findCardNumbers(text.normalize('NFKC'), 13).length > 0;
}
