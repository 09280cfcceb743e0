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

/**
 * An exchange's last Proxy-Authenticate challenge for a line, answered again on the line's
 * next INVITE before it is asked for (RFC 3261 §22.3: a UA "MAY cache credentials" for a
 * realm and send them in later requests), each time with the next nonce-count (RFC 2617
 * §3.2.2), so that the exchange can still refuse a replay. Saves the INVITE that only earns
 * a 407, and its 100, 407 and ACK, on every call; a nonce gone stale or a count that arrives
 * out of order earns a 407 as before, answered afresh.
 */
export class ProxyCredentialCache {
  private last: { challenge: DigestChallenge; nc: number } | null = null;

  /** Remembers a challenge whose answer (nonce-count 1) the exchange took. Without qop=auth a nonce is never reused: with no count the exchange could not tell a replay. */
  answered(challenge: DigestChallenge): void {
    this.last = challenge.qop.includes('auth') ? { challenge, nc: 1 } : null;
  }

  /** Credentials for `request` under the remembered challenge, with the next count; null when there is none. */
  next(request: { method: string; uri: string }, account: Account): string | null {
    if (!this.last) return null;
    this.last.nc++;
    return formatDigestCredentials(answerDigestChallenge(this.last.challenge, { ...request, ...account, nc: this.last.nc }));
  }

  /** The exchange refused what was offered unasked: offer nothing until it challenges again. */
  forget(): void {
    this.last = null;
  }
}
