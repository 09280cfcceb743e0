import { timingSafeEqual } from 'node:crypto';

/**
 * Compares a received authenticator or digest with the expected one without leaking, by
 * timing, how many leading octets match. The lengths are public (fixed by the RFCs), so
 * failing fast on a length mismatch gives nothing away; timingSafeEqual would throw instead.
 */
export function constantTimeEqual(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}
