import type { SipHeaders } from './sip-headers.ts';

/** RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF. */
export interface SipRequest {
  readonly kind: 'request';
  method: string;
  /** As sent; parse with parseUri/parseSipUri when its parts are needed. */
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

/** RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF. */
export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export const SIP_VERSION = 'SIP/2.0';
