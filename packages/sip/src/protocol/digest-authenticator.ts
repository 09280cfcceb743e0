import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DigestChallenge } from './digest-challenge.ts';
import type { DigestCredentials } from './digest-credentials.ts';
import { digestResponse } from './digest-response.ts';

export type DigestVerification =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly reason: DigestRejection; readonly stale: boolean };

/** Why credentials were refused. Stable strings, for logs and the drop counter. */
export type DigestRejection = 'realm-mismatch' | 'uri-mismatch' | 'nonce-invalid' | 'nonce-expired' | 'nonce-count-replayed' | 'qop-required' | 'username-unknown' | 'response-mismatch';

export interface DigestAuthenticatorOptions {
  readonly realm: string;
  /** How long a nonce is good for; past it a right answer gets `stale=true` (RFC 2617 §3.2.1). */
  readonly nonceLifetimeMs: number;
  /** Keys the nonces; random per process unless given (then nonces survive a restart). */
  readonly secret?: Buffer;
  readonly now?: () => number;
}

const NONCE_BYTES = 8 + 8 + 16;
const MAX_TRACKED_NONCES = 50_000;

/**
 * The server side of Digest (RFC 2617 §3.2, RFC 3261 §22). Nonces are stateless: the
 * issue time and a random part, authenticated with an HMAC, so a forged or altered nonce
 * is refused without a table. Only the highest nonce-count seen per nonce is kept, to
 * refuse a replayed request (RFC 2617 §3.2.2: the server "can" detect replays with nc;
 * Sideband does, as a replayed REGISTER would move a subscriber's calls).
 */
export class DigestAuthenticator {
  private readonly secret: Buffer;
  private readonly now: () => number;
  private readonly counts = new Map<string, { nc: number; issued: number }>();
  /** Nonces issued at or before this time were evicted from `counts`, and are refused as stale. */
  private evictedUpTo = -1;

  constructor(private readonly options: DigestAuthenticatorOptions) {
    this.secret = options.secret ?? randomBytes(32);
    this.now = options.now ?? Date.now;
  }

  get realm(): string {
    return this.options.realm;
  }

  challenge(stale = false): DigestChallenge {
    const issued = Buffer.alloc(8);
    issued.writeBigUInt64BE(BigInt(this.now()));
    const body = Buffer.concat([issued, randomBytes(8)]);
    const nonce = Buffer.concat([body, this.mac(body)]).toString('base64url');
    return { realm: this.options.realm, nonce, opaque: null, algorithm: 'MD5', qop: ['auth'], stale };
  }

  /**
   * Checks credentials against the request they came with. `password` looks the user up;
   * undefined means no such user. RFC 2617 §3.2.2.5: the server "MUST assure that the
   * resource designated by the "uri" directive is the same as the resource specified in the
   * Request-Line".
   */
  verify(credentials: DigestCredentials, request: { method: string; uri: string }, password: (username: string) => string | undefined): DigestVerification {
    const refuse = (reason: DigestRejection, stale = false): DigestVerification => ({ ok: false, reason, stale });
    if (credentials.realm !== this.options.realm) return refuse('realm-mismatch');
    if (credentials.uri !== request.uri) return refuse('uri-mismatch');
    const raw = Buffer.from(credentials.nonce, 'base64url');
    if (raw.length !== NONCE_BYTES || credentials.nonce !== raw.toString('base64url')) return refuse('nonce-invalid');
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body))) return refuse('nonce-invalid');
    // qop=auth is what this server offers; an RFC 2069 answer has no nc and could be replayed.
    if (credentials.qop !== 'auth' || credentials.nc === null) return refuse('qop-required');

    const secret = password(credentials.username);
    if (secret === undefined) return refuse('username-unknown');
    const expected = digestResponse({
      algorithm: credentials.algorithm,
      username: credentials.username,
      realm: credentials.realm,
      password: secret,
      method: request.method,
      uri: credentials.uri,
      nonce: credentials.nonce,
      qop: 'auth',
      nc: credentials.nc,
      cnonce: credentials.cnonce ?? '',
    });
    const given = Buffer.from(credentials.response, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) return refuse('response-mismatch');

    // Freshness is checked after the response, so that an expired nonce with the right
    // password earns stale=true and the client retries without asking anyone (§3.2.1).
    const issued = Number(body.readBigUInt64BE(0));
    const now = this.now();
    if (issued > now + 1000 || now - issued > this.options.nonceLifetimeMs) return refuse('nonce-expired', true);

    const nc = parseInt(credentials.nc, 16);
    const seen = this.counts.get(credentials.nonce);
    if (seen && nc <= seen.nc) return refuse('nonce-count-replayed');
    // Its count was forgotten to bound memory: a new nonce is safer than a possible replay.
    if (!seen && issued <= this.evictedUpTo) return refuse('nonce-expired', true);
    this.track(credentials.nonce, nc, issued);
    return { ok: true, username: credentials.username };
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
  }

  private track(nonce: string, nc: number, issued: number): void {
    if (!this.counts.has(nonce) && this.counts.size >= MAX_TRACKED_NONCES) {
      const oldest = this.now() - this.options.nonceLifetimeMs;
      for (const [key, entry] of this.counts) if (entry.issued < oldest) this.counts.delete(key);
      // Still full of live nonces: forget the first tracked one and refuse every nonce
      // issued up to it, so that forgetting a count can never let a replay through.
      if (this.counts.size >= MAX_TRACKED_NONCES) {
        const [key, entry] = this.counts.entries().next().value!;
        this.counts.delete(key);
        this.evictedUpTo = Math.max(this.evictedUpTo, entry.issued);
      }
    }
    this.counts.set(nonce, { nc, issued });
  }
}
