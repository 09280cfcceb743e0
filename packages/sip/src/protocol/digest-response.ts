import { digestHash, type DigestAlgorithm } from './digest-algorithm.ts';

export interface DigestInputs {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  /** The digest-uri: the Request-URI as sent (RFC 3261 §22.4). */
  readonly uri: string;
  readonly nonce: string;
  /** With qop=auth, nc and cnonce are required; without qop, RFC 2069 compatibility. */
  readonly qop?: 'auth';
  readonly nc?: string;
  readonly cnonce?: string;
}

/**
 * request-digest (RFC 2617 §3.2.2.1):
 *   qop=auth: KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))
 *   no qop:   KD(H(A1), nonce ":" H(A2))
 * with A1 = username ":" realm ":" passwd (§3.2.2.2; "-sess" hashes it again with nonce
 * and cnonce) and A2 = Method ":" digest-uri (§3.2.2.3, qop=auth).
 */
export function digestResponse(inputs: DigestInputs): string {
  const H = (data: string) => digestHash(inputs.algorithm, data);
  let ha1 = H(`${inputs.username}:${inputs.realm}:${inputs.password}`);
  if (inputs.algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${inputs.nonce}:${inputs.cnonce ?? ''}`);
  const ha2 = H(`${inputs.method}:${inputs.uri}`);
  return inputs.qop === 'auth' ? H(`${ha1}:${inputs.nonce}:${inputs.nc ?? ''}:${inputs.cnonce ?? ''}:auth:${ha2}`) : H(`${ha1}:${inputs.nonce}:${ha2}`);
}
