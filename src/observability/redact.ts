import { luhnValid } from '../core/card/card-number.ts';

// 12–19 digits, optionally grouped by single spaces or dashes, not inside a longer run of
// digits. A candidate is only replaced when it passes the Luhn check, so timestamps and
// counters survive; a run that is Luhn-valid by chance is masked too, which costs nothing.
const candidate = /(?<![\d])\d(?:[ -]?\d){11,18}(?![\d])/g;

/** Replaces every Luhn-valid card-number-shaped run in `text`. */
export function redactCardNumbers(text: string): string {
  if (!/\d{4}/.test(text)) return text;
  return text.replace(candidate, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return luhnValid(digits) ? `[card ${digits.slice(0, 6)}…${digits.slice(-4)}]` : match;
  });
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
