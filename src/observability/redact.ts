import { findCardNumbers } from '../core/card/card-numbers-in-text.ts';

/**
 * Replaces every card-number-shaped run in `text` (12–19 digits, grouped by single spaces
 * or dashes or not, passing the Luhn check: see findCardNumbers). Twelve, not thirteen as
 * for merchants' text fields: masking a Luhn-valid timestamp or counter by chance costs
 * nothing here.
 */
export function redactCardNumbers(text: string): string {
  const found = findCardNumbers(text, 12);
  if (found.length === 0) return text;
  let out = '';
  let at = 0;
  for (const card of found) {
    out += `${text.slice(at, card.start)}[card ${card.digits.slice(0, 6)}…${card.digits.slice(-4)}]`;
    at = card.end;
  }
  return out + text.slice(at);
}

/**
 * Field names whose values never reach a log whatever they hold (pino `redact` paths):
 * the card number and licence number by name, and every credential.
 */
export const redactedFields = [
  'number', 'pan', 'cardNumber', 'licenceNumber', 'licenseNumber', 'password', 'secret',
  'token', 'privateKey', 'authorization', 'req.headers.authorization', '*.number', '*.pan',
  '*.cardNumber', '*.licenceNumber', '*.password', '*.secret', '*.token',
];
