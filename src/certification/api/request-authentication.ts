import { createPublicKey, type KeyObject } from 'node:crypto';
import { verifyRequestSignature, type VerificationFailure } from '../../../sdk/src/http-signatures/index.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import type { MerchantRow } from '../authorization/authorization-service.ts';

/** The verifier's reasons, as the API's error codes; a new reason fails to compile until mapped. */
const codeFor: Record<VerificationFailure, ErrorCode> = {
  'signature-missing': 'SIGNATURE_MISSING',
  'signature-input-missing': 'SIGNATURE_MISSING',
  'signature-header-too-long': 'SIGNATURE_MALFORMED',
  'signature-input-malformed': 'SIGNATURE_MALFORMED',
  'signature-malformed': 'SIGNATURE_MALFORMED',
  'label-mismatch': 'SIGNATURE_MALFORMED',
  'component-missing': 'SIGNATURE_COMPONENT_MISSING',
  'component-unsupported': 'SIGNATURE_MALFORMED',
  'component-unresolved': 'SIGNATURE_MALFORMED',
  'component-value-invalid': 'SIGNATURE_MALFORMED',
  'target-uri-invalid': 'SIGNATURE_MALFORMED',
  'param-missing': 'SIGNATURE_MALFORMED',
  'alg-unsupported': 'SIGNATURE_MALFORMED',
  'key-unknown': 'SIGNATURE_KEY_UNKNOWN',
  'signature-expired': 'SIGNATURE_EXPIRED',
  'signature-not-yet-valid': 'SIGNATURE_EXPIRED',
  'signature-too-old': 'SIGNATURE_EXPIRED',
  'signature-invalid': 'SIGNATURE_INVALID',
  'content-digest-missing': 'CONTENT_DIGEST_MISMATCH',
  'content-digest-malformed': 'CONTENT_DIGEST_MISMATCH',
  'content-digest-unsupported': 'CONTENT_DIGEST_MISMATCH',
  'content-digest-mismatch': 'CONTENT_DIGEST_MISMATCH',
};

interface KeyEntry {
  key: KeyObject;
  merchantId: string;
  active: boolean;
  loadedAt: number;
}

export interface AuthenticatedMerchant {
  merchant: MerchantRow & { name: string };
  keyId: string;
}

/**
 * Authenticates a merchant request: an RFC 9421 signature by an active registered
 * Ed25519 key, covering @method, @target-uri and content-digest (checked against the
 * body, RFC 9530), within its validity, with a nonce never seen before for that key; and
 * a merchant that is certified. Keys are cached for a few seconds, so a revocation by
 * another process takes effect within that.
 */
export class RequestAuthentication {
  private keys = new Map<string, KeyEntry | null>();

  constructor(
    private readonly store: Store,
    private readonly maxAgeSeconds: number,
    private readonly cacheMs = 5000,
  ) {}

  private async key(keyId: string, now: number): Promise<KeyEntry | null> {
    const cached = this.keys.get(keyId);
    if (cached !== undefined && cached !== null && now - cached.loadedAt < this.cacheMs) return cached;
    const row = await this.store.db.selectFrom('merchant_keys').select(['public_key', 'merchant_id', 'status', 'use']).where('id', '=', keyId).executeTakeFirst();
    const entry = row && row.use === 'sig' ? { key: createPublicKey(row.public_key), merchantId: row.merchant_id, active: row.status === 'active', loadedAt: now } : null;
    if (this.keys.size > 10_000) this.keys.clear();
    if (entry) this.keys.set(keyId, entry);
    return entry;
  }

  async authenticate(request: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }, now = Date.now()): Promise<AuthenticatedMerchant> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    let keyEntry: KeyEntry | null = null;
    const result = await verifyRequestSignature(
      { method: request.method, url: request.url, headers, body: request.body },
      {
        resolveKey: async (keyId: string) => {
          keyEntry = await this.key(keyId, now);
          return keyEntry && keyEntry.active ? keyEntry.key : null;
        },
        now: new Date(now),
        maxAgeSeconds: this.maxAgeSeconds,
        clockSkewSeconds: 30,
        requiredComponents: ['@method', '@target-uri', 'content-digest'],
        requiredParams: ['created', 'expires', 'nonce', 'keyid'],
      },
    );
    if (!result.ok) throw new SidebandError(codeFor[result.reason], `Signature refused: ${result.reason}.`);
    // Required parameters are present once verification succeeded (requiredParams above).
    const created = result.created!;
    const expires = result.expires!;
    const nonce = result.nonce!;
    if (expires - created > this.maxAgeSeconds) throw new SidebandError('SIGNATURE_EXPIRED', `Signature refused: expires may be at most ${this.maxAgeSeconds} s after created.`);
    const entry = keyEntry as KeyEntry | null;
    if (!entry) throw new SidebandError('SIGNATURE_KEY_UNKNOWN', 'Signature refused: key-unknown.');
    const merchant = await this.store.db.selectFrom('merchants').select(['id', 'name', 'status', 'settlement_preference', 'pseudonym_salt']).where('id', '=', entry.merchantId).executeTakeFirstOrThrow();
    if (merchant.status === 'revoked') throw new SidebandError('MERCHANT_REVOKED', `Merchant ${merchant.id} is revoked.`);
    if (merchant.status !== 'certified') throw new SidebandError('MERCHANT_NOT_CERTIFIED', `Merchant ${merchant.id} is not certified.`);
    // The nonce is recorded only for a signature that verified, so nobody can burn a
    // merchant's nonces with forged requests; the primary key makes reuse fail atomically.
    try {
      await this.store.db.insertInto('signature_nonces').values({ key_id: result.keyid, nonce, expires_at: (expires + 60) * 1000 }).execute();
    } catch (e) {
      // Only a duplicate key means a replay; a store failure is not the merchant's fault.
      if (!isUniqueViolation(e)) throw e;
      throw new SidebandError('SIGNATURE_NONCE_REUSED', 'Signature refused: the nonce was already used.');
    }
    return { merchant, keyId: result.keyid };
  }

  async purgeNonces(now = Date.now()): Promise<void> {
    await this.store.db.deleteFrom('signature_nonces').where('expires_at', '<', now).execute();
  }
}
