import { holdsCardNumber } from '../../core/card/card-numbers-in-text.ts';
import { SidebandError } from '../../errors/sideband-error.ts';

export interface TextRules {
  /** Most UTF-16 code units. */
  readonly max: number;
  /** Free text (a description, a refund reason) may hold TAB, LF and CR; an identifier may not. */
  readonly lineBreaks?: boolean;
  /** Refuse a text that looks like a card number (FIELD_HOLDS_CARD_NUMBER): set for what is stored in clear. */
  readonly noCardNumbers?: boolean;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

const codePoint = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Checks a text field a merchant sends, before anything is written or sent on: its type
 * and length; well-formed UTF-16 (a lone surrogate cannot be stored as UTF-8, and
 * PostgreSQL would have it replaced or refused); no control character (Unicode Cc: C0,
 * DEL and C1; PostgreSQL refuses NUL in text outright), except TAB, LF and CR in free
 * text, so that lines typed in an HTML textarea (sent as CRLF) pass; no bidirectional
 * override that would make a description read otherwise; and, for what is
 * stored in clear, nothing that looks like a card number. Messages name the field and
 * where the fault is, never the value.
 */
export function textField(value: unknown, param: string, rules: TextRules): string {
  if (typeof value !== 'string' || value.length > rules.max) throw new SidebandError('FIELD_INVALID', `${param} must be a string of at most ${rules.max} characters.`, { param });
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const paired = c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      if (!paired) throw new SidebandError('FIELD_INVALID', `${param} holds a lone UTF-16 surrogate (${codePoint(c)} at index ${i}); send well-formed Unicode.`, { param });
      i++;
      continue;
    }
    // Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) can
    // make a description read otherwise on the subscriber's confirmation screen.
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) throw new SidebandError('FIELD_INVALID', `${param} must not hold bidirectional formatting characters (${codePoint(c)} at index ${i}).`, { param });
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    if (control && !(rules.lineBreaks && (c === TAB || c === LF || c === CR))) {
      const allowed = rules.lineBreaks ? ' other than tab, line feed and carriage return' : '';
      throw new SidebandError('FIELD_INVALID', `${param} must not hold control characters${allowed} (${codePoint(c)} at index ${i}).`, { param });
    }
  }
  if (rules.noCardNumbers && holdsCardNumber(value)) {
    throw new SidebandError('FIELD_HOLDS_CARD_NUMBER', `${param} holds what looks like a card number (13 to 19 digits passing the Luhn check). Never send a card number: ${param} is stored in clear.`, { param });
  }
  return value;
}

/** {@link textField} for an optional field: absent or null is null. */
export function optionalTextField(value: unknown, param: string, rules: TextRules): string | null {
  return value === undefined || value === null ? null : textField(value, param, rules);
}
