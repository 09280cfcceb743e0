import { randomBytes } from 'node:crypto';
import type { DigestChallenge } from './digest-challenge.ts';
import type { DigestCredentials } from './digest-credentials.ts';
import { digestResponse } from './digest-response.ts';

/**
 * Answers a challenge (RFC 3261 §22.2, RFC 2617 §3.2.2): qop=auth when offered, with a
 * fresh cnonce; RFC 2069 style (no qop) otherwise. `nc` counts the requests sent with
 * this nonce, starting at 1.
 */
export function answerDigestChallenge(challenge: DigestChallenge, request: { method: string; uri: string; username: string; password: string; nc?: number }): DigestCredentials {
  const qop = challenge.qop.includes('auth') ? 'auth' : null;
  const nc = qop ? (request.nc ?? 1).toString(16).padStart(8, '0') : null;
  const cnonce = qop || challenge.algorithm.endsWith('-sess') ? randomBytes(12).toString('hex') : null;
  const response = digestResponse({
    algorithm: challenge.algorithm,
    username: request.username,
    realm: challenge.realm,
    password: request.password,
    method: request.method,
    uri: request.uri,
    nonce: challenge.nonce,
    ...(qop ? { qop, nc: nc!, cnonce: cnonce! } : cnonce ? { cnonce } : {}),
  });
  return { username: request.username, realm: challenge.realm, nonce: challenge.nonce, uri: request.uri, response, algorithm: challenge.algorithm, opaque: challenge.opaque, qop, nc, cnonce };
}
