import { answerDigestChallenge } from '../protocol/digest-client.ts';
import { parseDigestChallenge, type DigestChallenge } from '../protocol/digest-challenge.ts';
import { formatDigestCredentials } from '../protocol/digest-credentials.ts';
import type { SipResponse } from '../wire/sip-message.ts';

export interface Account {
  readonly username: string;
  readonly password: string;
}

/**
 * The credentials header answering a 401 or 407 (RFC 3261 §22.2, §22.3): Authorization for
 * a registrar's or UAS's WWW-Authenticate, Proxy-Authorization for a proxy's
 * Proxy-Authenticate. Null when the response holds no Digest challenge Sideband can answer.
 */
export function answerChallenge(response: SipResponse, request: { method: string; uri: string }, account: Account): { header: 'Authorization' | 'Proxy-Authorization'; value: string; challenge: DigestChallenge } | null {
  const proxy = response.status === 407;
  for (const text of response.headers.getAll(proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate')) {
    const challenge = parseDigestChallenge(text);
    if (!challenge.ok) continue;
    if (challenge.value.qop.length > 0 && !challenge.value.qop.includes('auth')) continue;
    const credentials = answerDigestChallenge(challenge.value, { ...request, ...account });
    return { header: proxy ? 'Proxy-Authorization' : 'Authorization', value: formatDigestCredentials(credentials), challenge: challenge.value };
  }
  return null;
}
