/**
 * Why bytes could not be read as a SIP message (or a part of one). Stable strings: the
 * transports label their drop counter with them, and tests assert on them.
 */
export const sipParseFailureCauses = [
  /** Larger than the configured maximum; undici's HeadersOverflowError is the model. */
  'message-too-large',
  /** No empty line ends the header section (RFC 3261 §7: "CRLF" after the headers). */
  'head-unterminated',
  /** The header section is not valid UTF-8 (RFC 3261 §7.3: UTF-8 text). */
  'encoding-invalid',
  /** A control character other than HTAB in the start line or a header (RFC 3261 §25.1). */
  'control-character',
  /** Neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2). */
  'start-line-malformed',
  /** A SIP-Version other than SIP/2.0 (a server answers 505, RFC 3261 §21.5.6). */
  'version-unsupported',
  /** The Request-URI is not an absolute URI, or not a valid SIP/SIPS URI (RFC 3261 §19.1). */
  'request-uri-invalid',
  /** A header line without a colon, or with a name that is not a token (RFC 3261 §7.3.1). */
  'header-malformed',
  /** A continuation line (leading SP/HTAB) before any header (RFC 3261 §7.3.1). */
  'header-folding-invalid',
  /** More header fields than the bound allows. */
  'too-many-headers',
  /** A header the RFC requires is absent (RFC 3261 §8.1.1). */
  'header-missing',
  /** A header that takes one value appears more than once (RFC 3261 §7.3.1). */
  'header-duplicated',
  'call-id-invalid',
  /** CSeq is not "number SP method" or the number is 2**31 or more (RFC 3261 §8.1.1.5). */
  'cseq-invalid',
  /** The CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5). */
  'cseq-method-mismatch',
  'via-invalid',
  'from-invalid',
  'to-invalid',
  'max-forwards-invalid',
  'content-length-invalid',
  /** A message on a stream transport without Content-Length (RFC 3261 §18.3 MUST). */
  'content-length-missing',
  /** The datagram ends before Content-Length octets of body (RFC 3261 §18.3). */
  'body-truncated',
  /** A URI, name-addr or parameter list that does not follow its grammar (RFC 3261 §25.1). */
  'uri-invalid',
  'address-invalid',
  'params-invalid',
] as const;

export type SipParseFailureCause = (typeof sipParseFailureCauses)[number];

export interface SipParseFailure {
  readonly ok: false;
  readonly cause: SipParseFailureCause;
  /** For logs: what exactly was wrong. Never holds credentials (Authorization is not quoted). */
  readonly detail: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | SipParseFailure;

export const parseFailure = (cause: SipParseFailureCause, detail: string): SipParseFailure => ({ ok: false, cause, detail });

export const parsed = <T>(value: T): Parsed<T> => ({ ok: true, value });
