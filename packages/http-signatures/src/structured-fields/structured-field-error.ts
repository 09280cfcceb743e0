/**
 * Why a structured field could not be parsed or serialized. Stable strings: the verifier
 * passes them on as the `detail` of its own failure.
 */
export const structuredFieldFailures = [
  /** The field is longer than the parser was allowed to read. */
  'field-too-long',
  /** A character outside US-ASCII (RFC 8941 §4.2, step 1). */
  'not-ascii',
  /** Characters left over after the top-level value (RFC 8941 §4.2, step 6). */
  'trailing-characters',
  /** A character that cannot start or continue the expected production. */
  'unexpected-character',
  /** The input ended inside a production. */
  'unexpected-end',
  /** A key that does not match `key` (RFC 8941 §4.2.3.3). */
  'key-invalid',
  /** A comma with no member after it (RFC 8941 §4.2.2). */
  'trailing-comma',
  /** An Integer or Decimal over its digit limits (RFC 8941 §4.2.4). */
  'number-too-long',
  /** A Decimal with no or too many fractional digits (RFC 8941 §4.2.4). */
  'decimal-invalid',
  /** A backslash before anything but `"` or `\` (RFC 8941 §4.2.5). */
  'string-escape-invalid',
  /** A String with an unclosed quote (RFC 8941 §4.2.5). */
  'string-unterminated',
  /** A Byte Sequence with a character outside base64 or an unclosed colon (RFC 8941 §4.2.7). */
  'byte-sequence-invalid',
  /** `?` not followed by 0 or 1 (RFC 8941 §4.2.8). */
  'boolean-invalid',
  /** An Inner List with no closing parenthesis (RFC 8941 §4.2.1.2). */
  'inner-list-unterminated',
  /** A value that cannot be serialized: an Integer out of range, a String with a control character (RFC 8941 §4.1). */
  'value-not-serializable',
] as const;

export type StructuredFieldFailure = (typeof structuredFieldFailures)[number];

/**
 * Raised inside the recursive-descent parser and by the serializer; the public parse
 * functions catch it and return a result instead, so that callers never see it thrown
 * for bad input.
 */
export class StructuredFieldError extends Error {
  constructor(
    readonly reason: StructuredFieldFailure,
    readonly offset: number,
    message: string,
  ) {
    super(`${message} (${reason} at ${offset})`);
    this.name = 'StructuredFieldError';
  }
}
