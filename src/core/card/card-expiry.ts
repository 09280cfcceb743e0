import { SidebandError } from '../../errors/sideband-error.ts';

export interface CardExpiry {
  readonly month: number;
  readonly year: number;
}

/** Parses MM/YY (or MM/YYYY); a card is valid through the last day of its expiry month. */
export function parseExpiry(input: string, now = new Date()): CardExpiry {
  const m = /^(\d{2})\/(\d{2}|\d{4})$/.exec(input.trim());
  if (!m) throw new SidebandError('VAULT_EXPIRY_INVALID', 'Expiry must be MM/YY.', { param: 'expiry' });
  const month = Number(m[1]);
  const year = m[2]!.length === 2 ? 2000 + Number(m[2]) : Number(m[2]);
  if (month < 1 || month > 12) throw new SidebandError('VAULT_EXPIRY_INVALID', `Expiry month ${m[1]} is not 01 to 12.`, { param: 'expiry' });
  const nowMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (year * 12 + (month - 1) < nowMonth) throw new SidebandError('VAULT_EXPIRY_INVALID', `The card expired in ${m[1]}/${m[2]}.`, { param: 'expiry' });
  return { month, year };
}

export const formatExpiry = (e: CardExpiry): string => `${String(e.month).padStart(2, '0')}/${String(e.year % 100).padStart(2, '0')}`;
