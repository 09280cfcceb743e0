/** What both servers are given: the same NAS secret and subscribers. */

/** The shared secret of the one NAS, 127.0.0.1 (RFC 2865 §3: at least 16 octets). */
export const SECRET = 'sideband-bench-radius-secret';

/** The bench's subscribers, the same on both servers: user0000, user0001, … */
export const login = (i: number): string => `user${String(i).padStart(4, '0')}`;

/** A password per subscriber, 11 characters: one 16-octet block of RADIUS PAP. */
export const password = (i: number): string => `pw-${((i * 2_654_435_761) >>> 0).toString(36).padStart(8, '0')}`;

/**
 * Sideband's address pool: the shared range of RFC 6598, only allocated and never
 * contacted. Accounting Starts report addresses from 100.68.0.0/14, outside the pool, as a
 * NAS that allocates its own would.
 */
export const POOL_CIDR = '100.64.0.0/14';
export const ACCOUNTING_BASE = ((100 << 24) | (68 << 16)) >>> 0;
