import { createHash } from 'node:crypto';
import { type SipRequest, type SipResponse, MAGIC_COOKIE } from '@sideband/sip/wire';

/**
 * RFC 3261 §16.6 step 3: "If the copy contains a Max-Forwards header field, the proxy MUST
 * decrement its value by one. If the copy does not contain a Max-Forwards header field,
 * the proxy MUST add one with a field value, which SHOULD be 70."
 */
export function forwardedCopy(request: SipRequest, uri: string): SipRequest {
  const headers = request.headers.clone();
  const maxForwards = headers.get('Max-Forwards');
  headers.set('Max-Forwards', maxForwards === undefined ? '70' : String(Number(maxForwards) - 1));
  return { kind: 'request', method: request.method, uri, headers, body: request.body };
}

/** RFC 3261 §16.7 step 3: "The proxy removes the topmost Via header field value from the response." */
export function upstreamCopy(response: SipResponse): SipResponse {
  const headers = response.headers.clone();
  headers.removeFirst('Via');
  return { ...response, headers };
}

/**
 * A branch for a request forwarded without a transaction (the ACK for a 2xx): derived from
 * the incoming branch, so that a retransmitted ACK gets the same one, as RFC 3261 §16.11
 * has a stateless proxy compute it.
 */
export function statelessBranch(incomingBranch: string): string {
  return `${MAGIC_COOKIE}${createHash('sha256').update(`sideband-stateless|${incomingBranch}`).digest('base64url').slice(0, 22)}`;
}
