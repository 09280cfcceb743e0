import { findCardNumbers } from '../core/card/card-numbers-in-text.ts';

/**
 * Replaces every card-number-shaped run in `text` (12–19 digits of any script, grouped by
 * short runs of separators or not, passing the Luhn check: see findCardNumbers), from its
 * first digit to its last, separators included. Twelve, not thirteen as for merchants'
 * text fields: masking a Luhn-valid timestamp or counter by chance costs nothing here.
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

/** Redacts card-number-shaped runs in every string of a parsed JSON value, keys included. */
function redactStrings(value: unknown): { value: unknown; changed: boolean } {
  if (typeof value === 'string') {
    const redacted = redactCardNumbers(value);
    return { value: redacted, changed: redacted !== value };
  }
  // A card number logged as a JSON number (16 digits fit a double exactly) is masked, as
  // a string; a fraction (a latency) is left alone.
  if (typeof value === 'number' && Number.isSafeInteger(value) && findCardNumbers(String(value), 12).length > 0) {
    return { value: redactCardNumbers(String(value)), changed: true };
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = redactStrings(v);
      changed ||= r.changed;
      return r.value;
    });
    return { value: out, changed };
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = redactCardNumbers(k);
      const r = redactStrings(v);
      changed ||= r.changed || key !== k;
      out[key] = r.value;
    }
    return { value: out, changed };
  }
  return { value, changed: false };
}

/**
 * The line's text with its JSON escapes decoded, for the scan only: a tab or line break
 * between two digit groups reaches the line as `\t` or `\r\n`, whose letter would end the
 * run. Every escape but `\uXXXX` stands for a control character, a quote or a slash, all
 * separators, so a space stands for it; `\uXXXX` is decoded, since it may be a digit.
 */
function decodeJsonEscapes(line: string): string {
  if (!line.includes('\\')) return line;
  return line.replace(/\\(?:u([0-9a-fA-F]{4})|[^u])/g, (_, hex: string | undefined) => (hex === undefined ? ' ' : String.fromCharCode(Number.parseInt(hex, 16))));
}

/**
 * Redacts one serialised log line (pino's streamWrite hook) by its values, never by its
 * text: the line is scanned first (the common case, no card-shaped run anywhere, costs
 * one pass), and only a line with a candidate is parsed, its string values (and keys)
 * redacted, and serialised again. A fraction (a latency whose decimals happen to pass
 * the Luhn check) is never touched, so every line stays JSON; a whole number shaped like
 * a card number is masked, as a string. A line that is not JSON is
 * redacted as text.
 */
export function redactLogLine(line: string): string {
  if (findCardNumbers(decodeJsonEscapes(line), 12).length === 0) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return redactCardNumbers(line);
  }
  const r = redactStrings(parsed);
  return r.changed ? `${JSON.stringify(r.value)}\n` : line;
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
