import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import type { MerchantRow } from '../authorization/authorization-service.ts';

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The scopes CAMARA's documents name for these operations; a token asked for without scope gets all. */
export const camaraScopes = [
  'carrier-billing:payments:create',
  'carrier-billing:payments:read',
  'carrier-billing:payments:write',
  'carrier-billing-refund:refunds:create',
  'carrier-billing-refund:refunds:read',
] as const;
export type CamaraScope = (typeof camaraScopes)[number];

/** Access tokens live this long: short, so that no revocation list is needed beyond the store's check. */
export const ACCESS_TOKEN_SECONDS = 300;
/** An assertion valid for longer is refused, which bounds how long its jti must be remembered. */
const ASSERTION_MAX_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 30;

/** The algorithm a registered signing key signs JWTs with (RFC 8037 EdDSA; RFC 7518 ES256). */
const jwsAlgorithm: Record<string, string> = { ed25519: 'EdDSA', 'ec-prime256v1': 'ES256' };

export interface TokenMerchant {
  merchant: MerchantRow & { name: string };
  keyId: string;
  scopes: ReadonlySet<string>;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

/**
 * OAuth 2.0 client credentials for the CAMARA routes (RFC 6749 §4.4), the client
 * authenticated by `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT signed
 * with the merchant's registered signing key — the same key, and so the same merchant
 * identity, as /v1's RFC 9421 signatures. Access tokens are opaque random strings kept
 * only as SHA-256 hashes; every use re-reads the token, its key and its merchant, so a
 * revoked key or merchant stops its tokens at the next request.
 */
export class OAuthTokens {
  constructor(private readonly store: Store) {}

  /**
   * Verifies the assertion and issues a token. `audiences` are the URLs accepted as `aud`
   * (RFC 7523 §3 point 3: the token endpoint; the issuer origin is accepted too, as
   * OpenID Connect lets clients use either).
   */
  async issue(form: URLSearchParams, audiences: readonly string[], now = Date.now()): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }> {
    if (form.get('grant_type') !== 'client_credentials') throw new SidebandError('OAUTH_REQUEST_INVALID', 'grant_type must be client_credentials.', { param: 'grant_type' });
    if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION) throw new SidebandError('OAUTH_REQUEST_INVALID', `client_assertion_type must be ${JWT_BEARER_ASSERTION}.`, { param: 'client_assertion_type' });
    const assertion = form.get('client_assertion');
    if (!assertion || assertion.length > 8192) throw new SidebandError('OAUTH_REQUEST_INVALID', 'client_assertion must be a signed JWT.', { param: 'client_assertion' });
    const requested = (form.get('scope') ?? '').split(' ').filter((s) => s.length > 0);
    for (const s of requested) if (!(camaraScopes as readonly string[]).includes(s)) throw new SidebandError('OAUTH_REQUEST_INVALID', `Scope ${s.length <= 64 ? s : '(too long)'} is not granted here; the scopes are ${camaraScopes.join(', ')}.`, { param: 'scope' });
    const scopes = requested.length > 0 ? requested : [...camaraScopes];

    const refuse = (why: string) => new SidebandError('OAUTH_CLIENT_ASSERTION_INVALID', `Client assertion refused: ${why}.`);
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      throw refuse('not a JWS');
    }
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 200) throw refuse('its header names no kid');
    const row = await this.store.db
      .selectFrom('merchant_keys as k')
      .innerJoin('merchants as m', 'm.id', 'k.merchant_id')
      .select(['k.public_key', 'k.algorithm', 'k.status as key_status', 'm.id', 'm.status'])
      .where('k.id', '=', kid)
      .where('k.use', '=', 'sig')
      .executeTakeFirst();
    const alg = row ? jwsAlgorithm[row.algorithm] : undefined;
    if (!row || row.key_status !== 'active' || !alg) throw refuse('no active signing key has that kid');
    let payload;
    try {
      // RFC 7523 §3: iss and sub are the client id, aud the authorization server, exp required.
      ({ payload } = await jwtVerify(assertion, createPublicKey(row.public_key), {
        algorithms: [alg], issuer: row.id, subject: row.id, audience: [...audiences], requiredClaims: ['exp', 'jti'], currentDate: new Date(now), clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (e) {
      const reason = e instanceof joseErrors.JWTExpired ? 'expired' : e instanceof joseErrors.JWTClaimValidationFailed ? `claim ${e.claim} ${e.reason}` : e instanceof joseErrors.JWSSignatureVerificationFailed ? 'the signature does not verify with the key named by kid' : 'malformed';
      throw refuse(reason);
    }
    const clientId = form.get('client_id');
    if (clientId !== null && clientId !== row.id) throw refuse('client_id is not the assertion\'s iss');
    const exp = payload.exp!;
    if (exp * 1000 - now > ASSERTION_MAX_SECONDS * 1000 + CLOCK_TOLERANCE_SECONDS * 1000) throw refuse(`exp is more than ${ASSERTION_MAX_SECONDS} s ahead`);
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200) throw refuse('jti must be a string of 1 to 200 characters');
    if (row.status === 'revoked') throw new SidebandError('MERCHANT_REVOKED', `Merchant ${row.id} is revoked.`);
    if (row.status !== 'certified') throw new SidebandError('MERCHANT_NOT_CERTIFIED', `Merchant ${row.id} is not certified.`);
    // RFC 7523 §3 point 7: the jti may be used once; the primary key makes reuse fail atomically.
    try {
      await this.store.db.insertInto('signature_nonces').values({ key_id: `oauth:${kid}`, nonce: payload.jti, expires_at: (exp + CLOCK_TOLERANCE_SECONDS + 60) * 1000 }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      throw new SidebandError('OAUTH_CLIENT_ASSERTION_REPLAYED', 'Client assertion refused: its jti was already used.');
    }
    const token = randomBytes(32).toString('base64url');
    await this.store.db.insertInto('oauth_access_tokens').values({ token_hash: hashToken(token), merchant_id: row.id, key_id: kid, scope: scopes.join(' '), expires_at: now + ACCESS_TOKEN_SECONDS * 1000, created_at: now }).execute();
    return { access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, scope: scopes.join(' ') };
  }

  /** The merchant behind a bearer token (RFC 6750 §2.1), read with its key's and merchant's status. */
  async authenticate(authorization: string | undefined, now = Date.now()): Promise<TokenMerchant> {
    const m = authorization === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
    if (!m) throw new SidebandError('ACCESS_TOKEN_MISSING', 'Send Authorization: Bearer with a token from POST /oauth2/token.');
    const row = await this.store.db
      .selectFrom('oauth_access_tokens as t')
      .innerJoin('merchant_keys as k', 'k.id', 't.key_id')
      .innerJoin('merchants as m', 'm.id', 't.merchant_id')
      .select(['t.scope', 't.expires_at', 't.key_id', 'k.status as key_status', 'm.id', 'm.name', 'm.status', 'm.settlement_preference', 'm.pseudonym_salt'])
      .where('t.token_hash', '=', hashToken(m[1]!))
      .executeTakeFirst();
    if (!row || row.expires_at <= now || row.key_status !== 'active' || row.status !== 'certified') throw new SidebandError('ACCESS_TOKEN_INVALID', 'The access token is unknown, expired or revoked; get a new one.');
    const { scope, expires_at: _e, key_id, key_status: _k, ...merchant } = row;
    return { merchant, keyId: key_id, scopes: new Set(scope.split(' ')) };
  }

  async purge(now = Date.now()): Promise<void> {
    await this.store.db.deleteFrom('oauth_access_tokens').where('expires_at', '<', now).execute();
  }
}
