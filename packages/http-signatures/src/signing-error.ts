/**
 * Why a request could not be signed. These are mistakes in the caller's input, not in a
 * peer's, so the signer throws them. Stable strings.
 */
export const signingFailures = [
  /** The key is not an Ed25519 private key. */
  'key-unsupported',
  /** The label is not an RFC 8941 key (lowercase letters, digits, `_-.*`, not starting with a digit). */
  'label-invalid',
  /** `keyid`, `nonce` or `tag` is not a printable ASCII string, or `created`/`expires` not a non-negative integer. */
  'param-invalid',
  /** A derived component this signer does not resolve, or a component identifier with parameters. */
  'component-unsupported',
  /** The same component is listed twice (RFC 9421 §2). */
  'component-duplicate',
  /** A field name that is not an HTTP token. */
  'component-name-invalid',
  /** A covered header field is not among the request's headers. */
  'component-unresolved',
  /** A covered value holds a newline or a character outside printable ASCII. */
  'component-value-invalid',
  /** A URI-derived component is covered but the URL is not an absolute http(s) URL. */
  'target-uri-invalid',
  /** The request carries a Content-Digest that does not match its body. */
  'content-digest-mismatch',
] as const;

export type SigningFailure = (typeof signingFailures)[number];

export class SigningError extends Error {
  constructor(
    readonly reason: SigningFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SigningError';
  }
}
