import { parsed, parseFailure, type Parsed } from '../wire/parse-failure.ts';
import { quote } from '../wire/split-list.ts';
import { parseAuthParams } from './auth-params.ts';
import { digestAlgorithm, type DigestAlgorithm } from './digest-algorithm.ts';

/** A WWW-Authenticate or Proxy-Authenticate Digest challenge (RFC 2617 §3.2.1, RFC 3261 §22.1). */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | null;
  readonly algorithm: DigestAlgorithm;
  readonly qop: readonly string[];
  /** The nonce expired but the credentials were right: retry without asking the user (§3.2.1). */
  readonly stale: boolean;
}

export function parseDigestChallenge(text: string): Parsed<DigestChallenge> {
  const auth = parseAuthParams(text);
  if (!auth.ok) return auth;
  if (auth.value.scheme.toLowerCase() !== 'digest') return parseFailure('params-invalid', `scheme ${auth.value.scheme}`);
  const p = auth.value.params;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) return parseFailure('params-invalid', 'realm and nonce are required');
  const algorithm = digestAlgorithm(p.get('algorithm'));
  if (algorithm === null) return parseFailure('params-invalid', `algorithm ${p.get('algorithm')}`);
  const qop = (p.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== '');
  return parsed({ realm, nonce, opaque: p.get('opaque') ?? null, algorithm, qop, stale: (p.get('stale') ?? '').toLowerCase() === 'true' });
}

export function formatDigestChallenge(c: DigestChallenge): string {
  const parts = [`realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`];
  if (c.opaque !== null) parts.push(`opaque=${quote(c.opaque)}`);
  parts.push(`algorithm=${c.algorithm}`);
  if (c.qop.length > 0) parts.push(`qop=${quote(c.qop.join(','))}`);
  if (c.stale) parts.push('stale=true');
  return `Digest ${parts.join(', ')}`;
}
