/**
 * Session `sessionId` held `address` from `start` (inclusive) until `end` (exclusive;
 * `null` while still held), in epoch milliseconds. Under carrier-grade NAT the session
 * held only source ports `portFirst`..`portLast` (inclusive) of a shared address; without
 * them it held every port.
 *
 * @example
 * const b: Binding = { id: 'bnd_…', sessionId: 'ses_…', address: '198.18.0.7', portFirst: 2048, portLast: 4095, start: 1717200000000, end: null };
 * const p: Binding = { id: 'bnd_…', sessionId: 'ses_…', address: '2001:db8:0:100::', prefixLength: 56, start: 1717200000000, end: null };
 */
export interface Binding {
  readonly id: string;
  readonly sessionId: string;
  readonly address: string;
  readonly portFirst?: number;
  readonly portLast?: number;
  /**
   * The binding holds the IPv6 prefix `address/prefixLength` (a Framed-IPv6-Prefix, RFC
   * 3162, or a Delegated-IPv6-Prefix, RFC 4818): every address inside it, every port.
   * Absent for a single address.
   */
  readonly prefixLength?: number;
  readonly start: number;
  readonly end: number | null;
}

export const PORT_MIN = 0;
export const PORT_MAX = 65535;
