import { createHash } from 'node:crypto';

/**
 * Digest algorithms: MD5 (RFC 2617 §3.2.1) and SHA-256 (RFC 8760 §2.1, RFC 7616 §3.2),
 * each with its "-sess" variant. RFC 8760 §2.4 asks servers to prefer SHA-256, but
 * Kamailio 5.6 and sipp answer only MD5, so Sideband challenges with MD5 by default.
 */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export function digestAlgorithm(name: string | undefined): DigestAlgorithm | null {
  // RFC 2617 §3.2.1: "If this is not present it is assumed to be "MD5"."
  if (name === undefined) return 'MD5';
  const upper = name.toUpperCase();
  if (upper === 'MD5') return 'MD5';
  if (upper === 'MD5-SESS') return 'MD5-sess';
  if (upper === 'SHA-256') return 'SHA-256';
  if (upper === 'SHA-256-SESS') return 'SHA-256-sess';
  return null;
}

export const digestHash = (algorithm: DigestAlgorithm, data: string): string =>
  createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5').update(data, 'utf8').digest('hex');
