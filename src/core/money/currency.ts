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
  if (!Object.hasOwn(currencies, code)) throw new SidebandError('CURRENCY_UNKNOWN', `Currency ${JSON.stringify(code)} is not an ISO 4217 code Sideband knows.`, { param });
  return code;
}

/** The largest amount accepted anywhere: keeps sums exact in a double (below 2^53). */
export const MAX_AMOUNT = 1_000_000_000_000;

export function assertAmount(value: unknown, param = 'amount', { allowZero = true } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_AMOUNT || (!allowZero && value === 0)) {
    throw new SidebandError('AMOUNT_INVALID', `${param} must be an integer number of minor units from ${allowZero ? 0 : 1} to ${MAX_AMOUNT}.`, { param });
  }
  return value;
}

export function formatAmount(amount: number, currency: string): string {
  const exp = currencies[currency] ?? 2;
  if (exp === 0) return `${amount} ${currency}`;
  const s = String(amount).padStart(exp + 1, '0');
  return `${s.slice(0, -exp)}.${s.slice(-exp)} ${currency}`;
}
