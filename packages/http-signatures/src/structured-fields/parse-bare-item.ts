import { Buffer } from 'node:buffer';
import { isAlpha, isBase64Char, isDigit, isTchar } from './characters.ts';
import type { FieldInput } from './field-input.ts';
import type { BareItem } from './structured-field-value.ts';

/** RFC 8941 §4.2.3.1: Parsing a Bare Item. */
export function parseBareItem(input: FieldInput): BareItem {
  const c = input.peek();
  if (c === '-' || isDigit(c)) return parseIntegerOrDecimal(input);
  if (c === '"') return { type: 'string', value: parseString(input) };
  if (c === '*' || isAlpha(c)) return { type: 'token', value: parseToken(input) };
  if (c === ':') return { type: 'byte-sequence', value: parseByteSequence(input) };
  if (c === '?') return { type: 'boolean', value: parseBoolean(input) };
  if (c === '') input.fail('unexpected-end', 'Expected a Bare Item');
  return input.fail('unexpected-character', 'No Bare Item starts with this character');
}

/** RFC 8941 §4.2.4: Parsing an Integer or Decimal. */
function parseIntegerOrDecimal(input: FieldInput): BareItem {
  let type: 'integer' | 'decimal' = 'integer';
  let sign = 1;
  let digits = '';
  if (input.peek() === '-') {
    input.consume();
    sign = -1;
  }
  if (input.isEmpty()) input.fail('unexpected-end', 'A number needs a digit');
  if (!isDigit(input.peek())) input.fail('unexpected-character', 'A number needs a digit');
  while (!input.isEmpty()) {
    const c = input.peek();
    if (isDigit(c)) {
      digits += input.consume();
    } else if (type === 'integer' && c === '.') {
      // "If input_number contains more than 12 characters, fail parsing."
      if (digits.length > 12) input.fail('number-too-long', 'A Decimal has at most 12 integer digits');
      digits += input.consume();
      type = 'decimal';
    } else {
      break;
    }
    // "If type is "integer" and input_number contains more than 15 characters, fail parsing."
    if (type === 'integer' && digits.length > 15) input.fail('number-too-long', 'An Integer has at most 15 digits');
    // "If type is "decimal" and input_number contains more than 16 characters, fail parsing."
    if (type === 'decimal' && digits.length > 16) input.fail('number-too-long', 'A Decimal has at most 16 characters');
  }
  // "-0" is zero: JavaScript's -0 would serialize as "0" and compare unequal with Object.is.
  if (type === 'integer') return { type, value: sign * Number.parseInt(digits, 10) || 0 };
  const fraction = digits.length - digits.indexOf('.') - 1;
  // "If the final character of input_number is ".", fail parsing."
  // "If the number of characters after "." in input_number is greater than three, fail parsing."
  if (fraction < 1 || fraction > 3) input.fail('decimal-invalid', 'A Decimal has 1 to 3 fractional digits');
  return { type, value: sign * Number.parseFloat(digits) || 0 };
}

/** RFC 8941 §4.2.5: Parsing a String. */
export function parseString(input: FieldInput): string {
  if (input.peek() !== '"') input.fail('unexpected-character', 'A String starts with DQUOTE');
  input.consume();
  let output = '';
  while (!input.isEmpty()) {
    const c = input.consume();
    if (c === '\\') {
      if (input.isEmpty()) input.fail('string-unterminated', 'A String ended after a backslash');
      const next = input.consume();
      // "If next_char is not DQUOTE or "\", fail parsing."
      if (next !== '"' && next !== '\\') input.fail('string-escape-invalid', 'Only \\" and \\\\ are escapes');
      output += next;
    } else if (c === '"') {
      return output;
    } else if (c < ' ' || c > '~') {
      // "Else, if char is in the range %x00-1f or %x7f-ff (i.e., it is not in VCHAR or SP), fail parsing."
      input.fail('unexpected-character', 'A String holds only printable ASCII');
    } else {
      output += c;
    }
  }
  return input.fail('string-unterminated', 'A String has no closing DQUOTE');
}

/** RFC 8941 §4.2.6: Parsing a Token. */
function parseToken(input: FieldInput): string {
  let output = input.consume();
  while (!input.isEmpty()) {
    const c = input.peek();
    if (!(isTchar(c) || c === ':' || c === '/')) break;
    output += input.consume();
  }
  return output;
}

/** RFC 8941 §4.2.7: Parsing a Byte Sequence. */
function parseByteSequence(input: FieldInput): Uint8Array {
  input.consume();
  let b64 = '';
  for (;;) {
    // "If there is not a ":" character before the end of input_string, fail parsing."
    if (input.isEmpty()) input.fail('byte-sequence-invalid', 'A Byte Sequence has no closing colon');
    const c = input.consume();
    if (c === ':') break;
    // "If b64_content contains a character not included in ALPHA, DIGIT, "+", "/", and "=", fail parsing."
    if (!isBase64Char(c)) input.fail('byte-sequence-invalid', 'A Byte Sequence holds only base64 characters');
    b64 += c;
  }
  // The RFC lets parsers accept missing padding ("SHOULD NOT fail"), which this does; but
  // "=" inside the content would let Buffer stop decoding early and ignore what follows,
  // so two different fields would decode to the same bytes.
  const firstPad = b64.indexOf('=');
  const data = firstPad === -1 ? b64 : b64.slice(0, firstPad);
  const padding = b64.length - data.length;
  if (padding > 2 || b64.slice(data.length) !== '='.repeat(padding) || data.length % 4 === 1 || (padding > 0 && b64.length % 4 !== 0)) {
    input.fail('byte-sequence-invalid', 'A Byte Sequence is not valid base64');
  }
  return new Uint8Array(Buffer.from(data, 'base64'));
}

/** RFC 8941 §4.2.8: Parsing a Boolean. */
function parseBoolean(input: FieldInput): boolean {
  input.consume();
  const c = input.isEmpty() ? '' : input.consume();
  if (c === '1') return true;
  if (c === '0') return false;
  return input.fail('boolean-invalid', 'A Boolean is ?0 or ?1');
}
