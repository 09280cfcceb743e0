import { contentDigestFailures } from './content-digest.ts';

/**
 * Why a request's signature was refused. Stable strings: the gateway maps each to an
 * error code of its registry, with a `Record<VerificationFailure, …>` so that a new reason
 * cannot go unmapped.
 */
export const verificationFailures = [
  /** No Signature field, or an empty one (RFC 9421 §4.2). */
  'signature-missing',
  /** A Signature field but no Signature-Input field (RFC 9421 §4.1). */
  'signature-input-missing',
  /** Signature or Signature-Input is longer than 8 KiB. */
  'signature-header-too-long',
  /**
   * Signature-Input is not an RFC 8941 Dictionary, its member is not an Inner List of
   * Strings, a component is listed twice or is not a lowercased field name, or a
   * registered parameter has the wrong type.
   */
  'signature-input-malformed',
  /** Signature is not an RFC 8941 Dictionary, or the member is not a 64-octet Byte Sequence. */
  'signature-malformed',
  /** No Signature member has the label of the chosen Signature-Input member, or the expected label is absent. */
  'label-mismatch',
  /** A component the application requires is not covered. */
  'component-missing',
  /** A covered component this verifier does not resolve (`@query-param`, `@status`, parameters). */
  'component-unsupported',
  /** A covered header field is absent from the request (RFC 9421 §2.5). */
  'component-unresolved',
  /** A covered value holds a newline or a character outside printable ASCII. */
  'component-value-invalid',
  /** A URI-derived component is covered but the request's target URI is not an absolute http(s) URI. */
  'target-uri-invalid',
  /** A signature parameter the application requires is absent. */
  'param-missing',
  /** `alg` names an algorithm other than ed25519, or the resolved key is not an Ed25519 key. */
  'alg-unsupported',
  /** No key is registered under the signature's keyid. */
  'key-unknown',
  /** `expires` is in the past (no clock skew is allowed for it). */
  'signature-expired',
  /** `created` is more than the allowed clock skew in the future. */
  'signature-not-yet-valid',
  /** `created` is further in the past than the maximum age. */
  'signature-too-old',
  /** The Ed25519 signature does not verify over the signature base. */
  'signature-invalid',
  ...contentDigestFailures,
] as const;

export type VerificationFailure = (typeof verificationFailures)[number];
