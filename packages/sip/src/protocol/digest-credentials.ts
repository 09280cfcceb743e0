import { parsed, parseFailure, type Parsed } from '../wire/parse-failure.ts';
import { quote } from '../wire/split-list.ts';
import { parseAuthParams } from './auth-params.ts';
import { digestAlgorithm, type DigestAlgorithm } from './digest-algorithm.ts';

/** Authorization / Proxy-Authorization Digest credentials (RFC 2617 §3.2.2, RFC 3261 §22.2). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly opaque: string | null;
  readonly qop: 'auth' | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
}

export function parseDigestCredentials(text: string): Parsed<DigestCredentials> {
  const auth = parseAuthParams(text);
  if (!auth.ok) return auth;
  if (auth.value.scheme.toLowerCase() !== 'digest') return parseFailure('params-invalid', `scheme ${auth.value.scheme}`);
  const p = auth.value.params;
  const [username, realm, nonce, uri, response] = ['username', 'realm', 'nonce', 'uri', 'response'].map((k) => p.get(k));
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return parseFailure('params-invalid', 'username, realm, nonce, uri and response are required');
  }
  const algorithm = digestAlgorithm(p.get('algorithm'));
  if (algorithm === null) return parseFailure('params-invalid', 'algorithm');
  const qop = p.get('qop');
  if (qop !== undefined && qop.toLowerCase() !== 'auth') return parseFailure('params-invalid', `qop ${qop}`);
  const nc = p.get('nc') ?? null;
  const cnonce = p.get('cnonce') ?? null;
  // RFC 2617 §3.2.2: with qop, cnonce and nc "MUST" be present; nc is 8LHEX.
  if (qop !== undefined && (nc === null || cnonce === null || !/^[0-9a-fA-F]{8}$/.test(nc))) return parseFailure('params-invalid', 'qop without nc and cnonce');
  if (!/^[0-9a-fA-F]+$/.test(response)) return parseFailure('params-invalid', 'response is not hex');
  return parsed({ username, realm, nonce, uri, response: response.toLowerCase(), algorithm, opaque: p.get('opaque') ?? null, qop: qop === undefined ? null : 'auth', nc, cnonce });
}

export function formatDigestCredentials(c: DigestCredentials): string {
  const parts = [`username=${quote(c.username)}`, `realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`, `uri=${quote(c.uri)}`, `response=${quote(c.response)}`, `algorithm=${c.algorithm}`];
  if (c.opaque !== null) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.qop !== null) parts.push(`qop=${c.qop}`, `nc=${c.nc}`, `cnonce=${quote(c.cnonce ?? '')}`);
  return `Digest ${parts.join(', ')}`;
}
