/**
 * Why a datagram was silently discarded before any handler saw it. Stable strings: the
 * server labels its Prometheus drop counter with them.
 */
export const dropCauses = [
  /** Fewer octets than the 20-octet header (RFC 2865 §3). */
  'datagram-too-short',
  /** The Length field says less than 20 (RFC 2865 §3). */
  'length-below-minimum',
  /** The Length field says more than 4096 (RFC 2865 §3). */
  'length-above-maximum',
  /** The Length field says more than the datagram holds (RFC 2865 §3). */
  'length-exceeds-datagram',
  /** A Code outside the closed set in packet-code.ts (RFC 2865 §3). */
  'unknown-code',
  /** An attribute's header or value runs past the end the Length field sets (RFC 2865 §5). */
  'attribute-overflow',
  /** An attribute's Length field is below 2, the size of its own header (RFC 2865 §5). */
  'attribute-length-invalid',
] as const;

export type DropCause = (typeof dropCauses)[number];
