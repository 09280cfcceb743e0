import { SidebandError } from '../../errors/sideband-error.ts';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay';

interface BrandRule {
  readonly brand: CardBrand;
  /** Inclusive IIN ranges, compared on the first `digits` digits. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly digits: number;
  readonly lengths: readonly number[];
}

// Ordered from the most specific prefix to the least, so that 6011… is Discover
// before 6… could match UnionPay's 62.
const rules: readonly BrandRule[] = [
  { brand: 'amex', digits: 2, ranges: [[34, 34], [37, 37]], lengths: [15] },
  { brand: 'diners', digits: 3, ranges: [[300, 305], [309, 309]], lengths: [14, 16, 17, 18, 19] },
  { brand: 'diners', digits: 2, ranges: [[36, 36], [38, 39]], lengths: [14, 16, 17, 18, 19] },
  { brand: 'jcb', digits: 4, ranges: [[3528, 3589]], lengths: [16, 17, 18, 19] },
  { brand: 'mastercard', digits: 4, ranges: [[2221, 2720]], lengths: [16] },
  { brand: 'mastercard', digits: 2, ranges: [[51, 55]], lengths: [16] },
  { brand: 'discover', digits: 4, ranges: [[6011, 6011]], lengths: [16, 17, 18, 19] },
  { brand: 'discover', digits: 3, ranges: [[644, 649]], lengths: [16, 17, 18, 19] },
  { brand: 'discover', digits: 2, ranges: [[65, 65]], lengths: [16, 17, 18, 19] },
  { brand: 'unionpay', digits: 2, ranges: [[62, 62]], lengths: [16, 17, 18, 19] },
  { brand: 'visa', digits: 1, ranges: [[4, 4]], lengths: [13, 16, 19] },
];

/** ISO/IEC 7812-1 Annex B check digit test. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function brandOf(digits: string): CardBrand | undefined {
  for (const rule of rules) {
    const prefix = Number(digits.slice(0, rule.digits));
    if (rule.ranges.some(([lo, hi]) => prefix >= lo && prefix <= hi)) return rule.brand;
  }
  return undefined;
}

export interface ValidatedCard {
  readonly number: string;
  readonly brand: CardBrand;
  /** First six digits: the BIN/IIN, not secret under PCI DSS 3.4.1. */
  readonly bin: string;
  readonly last4: string;
}

/**
 * Normalises (spaces and dashes removed) and validates a card number. The error never
 * repeats the number: it would end up in a log or a CLI transcript.
 */
export function validateCardNumber(input: string): ValidatedCard {
  const number = input.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number)) {
    throw new SidebandError('VAULT_CARD_INVALID', 'Card number must be 12 to 19 digits.', { param: 'number' });
  }
  const brand = brandOf(number);
  if (!brand) throw new SidebandError('VAULT_CARD_INVALID', 'Card brand not recognised from its first digits.', { param: 'number' });
  const rule = rules.find((r) => r.brand === brand)!;
  if (!rule.lengths.includes(number.length)) {
    throw new SidebandError('VAULT_CARD_INVALID', `A ${brand} card number has ${rule.lengths.join(' or ')} digits, not ${number.length}.`, { param: 'number' });
  }
  if (!luhnValid(number)) throw new SidebandError('VAULT_CARD_INVALID', 'Card number fails the Luhn check; a digit is mistyped.', { param: 'number' });
  return { number, brand, bin: number.slice(0, 6), last4: number.slice(-4) };
}

/** PCI DSS 3.4.1: at most the BIN and the last four digits are displayed. */
export function maskCard(bin: string, last4: string, length = 16): string {
  return `${bin}${'•'.repeat(Math.max(0, length - 10))}${last4}`;
}
