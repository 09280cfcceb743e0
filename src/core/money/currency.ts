import { SidebandError } from '../../errors/sideband-error.ts';

/**
 * ISO 4217 codes with their minor-unit exponent. Amounts are always integer minor units;
 * the exponent is only for display.
 */
export const currencies: Readonly<Record<string, number>> = {
  AUD: 2, BRL: 2, CAD: 2, CHF: 2, CNY: 2, CZK: 2, DKK: 2, EUR: 2, GBP: 2, HKD: 2, HUF: 2, INR: 2,
  JPY: 0, KRW: 0, MXN: 2, NOK: 2, NZD: 2, PLN: 2, SEK: 2, SGD: 2, USD: 2, ZAR: 2, BHD: 3, KWD: 3,
};

export function assertCurrency(code: string, param = 'currency'): string {
  if (Object.hasOwn(currencies, code)) return code;
  // Only a code-shaped value is repeated back: a refused value can be anything.
  if (/^[A-Z]{3}$/.test(code)) throw new SidebandError('CURRENCY_UNKNOWN', `Currency ${code} is not an ISO 4217 code Sideband knows.`, { param });
  throw new SidebandError('CURRENCY_UNKNOWN', `${param} must be an ISO 4217 code such as EUR, three capital letters.`, { param });
}

/** The largest amount accepted anywhere: keeps sums exact in a double (below 2^53). */
export const MAX_AMOUNT = 1_000_000_000_000;

/**
 * An amount in integer minor units, each way of being wrong refused with its own message.
 * JSON has one number type, so `19.99` for 19.99 EUR arrives as a fraction of a minor unit:
 * with `currency`, the message says how many decimal places the currency has.
 */
export function assertAmount(value: unknown, param = 'amount', { allowZero = true, currency }: { allowZero?: boolean; currency?: string } = {}): number {
  const refuse = (why: string) => new SidebandError('AMOUNT_INVALID', `${param} ${why}`, { param });
  if (typeof value !== 'number') {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' || typeof value === 'undefined' ? `an ${typeof value}` : `a ${typeof value}`;
    throw refuse(`must be a number of minor units such as 1999, not ${kind}.`);
  }
  if (!Number.isFinite(value)) throw refuse('must be a finite number of minor units.');
  if (!Number.isInteger(value)) {
    const exponent = currency === undefined ? undefined : currencies[currency];
    throw refuse(exponent === undefined
      ? 'must be a whole number of minor units (1999 for 19.99), not a fraction.'
      : exponent === 0
        ? `must be a whole number: ${currency} has no minor unit.`
        : `must be a whole number of minor units: ${currency} has ${exponent} decimal places, so ${formatAmount(1999, currency!)} is 1999.`);
  }
  if (value < 0) throw refuse('must not be negative.');
  if (value === 0 && !allowZero) throw refuse('must be at least 1 minor unit.');
  if (value > MAX_AMOUNT) throw refuse(`must be at most ${MAX_AMOUNT} minor units.`);
  // JSON's -0 is a zero: stored and answered as 0.
  return value === 0 ? 0 : value;
}

export function formatAmount(amount: number, currency: string): string {
  const exp = currencies[currency] ?? 2;
  if (exp === 0) return `${amount} ${currency}`;
  const s = String(amount).padStart(exp + 1, '0');
  return `${s.slice(0, -exp)}.${s.slice(-exp)} ${currency}`;
}
