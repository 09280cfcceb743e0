/** Why a body could not be read as the session description Sideband needs. Stable strings. */
export const sdpFailureCauses = [
  'too-large',
  /** A line that is not `<type>=<value>` with a single lower-case letter type (RFC 4566 §5). */
  'line-malformed',
  /** The first lines are not v=0, o=, s= in that order (RFC 4566 §5). */
  'header-invalid',
  'origin-invalid',
  'connection-invalid',
  /** RFC 4566 §5.7: each media needs a c= line, its own or the session's. */
  'connection-missing',
  'timing-missing',
  'media-invalid',
  /** No m=application line with the TCP/TLS protocol identifier (RFC 8122). */
  'stream-missing',
  /** a=setup other than active, passive, actpass, holdconn (RFC 4145 §4). */
  'setup-invalid',
  /** a=connection other than new, existing (RFC 4145 §5). */
  'connection-attribute-invalid',
  /** a=fingerprint missing or not `hash-func SP 2UHEX *(":" 2UHEX)` (RFC 8122 §5). */
  'fingerprint-invalid',
] as const;

export type SdpFailureCause = (typeof sdpFailureCauses)[number];

export interface SdpFailure {
  readonly ok: false;
  readonly cause: SdpFailureCause;
  readonly detail: string;
}

export type SdpResult<T> = { readonly ok: true; readonly value: T } | SdpFailure;

export const sdpFailure = (cause: SdpFailureCause, detail: string): SdpFailure => ({ ok: false, cause, detail });
