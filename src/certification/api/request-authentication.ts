import { createPublicKey, type KeyObject } from 'node:crypto';
import { verifyRequestSignature, type VerificationFailure } from '@sideband/http-signatures';
import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { DurableWrites } from '../../store/durable-writes.ts';
import { PreparedStatement, dialectOf } from '../../store/prepared-statement.ts';
import type { Db, Store, Tx } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import type { MerchantRow } from '../authorization/authorization-service.ts';
import { TargetUriResolver } from './target-uri-resolver.ts';
import { UnknownKeyIds } from './unknown-key-ids.ts';
import { OldestFirst } from '../../core/memory/oldest-first.ts';

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

/** The one row a request's keyid leads to: the key and the merchant holding it, read together. */
interface KeyAndMerchant {
  public_key: string;
  key_status: string;
  merchant: AuthenticatedMerchant['merchant'];
}

export interface AuthenticatedMerchant {
  merchant: MerchantRow & { name: string };
  keyId: string;
  /**
   * With `deferNonce`: the verified signature's nonce, not yet recorded. Whoever takes it
   * over records it before any other write of the request (`IdempotencyKeys.begin` does so
   * in the statement that takes the key) or, when the request ends before that,
   * with `recordNonce`.
   */
  pendingNonce?: PendingNonce;
}

/** A nonce whose signature verified, waiting to be recorded (see `AuthenticatedMerchant.pendingNonce`). */
export interface PendingNonce {
  keyId: string;
  nonce: string;
  expiresAt: number;
  recorded: boolean;
}

export const insertNonceText = 'insert into signature_nonces (key_id, nonce, expires_at) values (?, ?, ?)';
const insertNonce = new PreparedStatement(insertNonceText);
/** Read on every signed request: fixed text, prepared once, no query builder on the hot path. */
const keyWithMerchant = new PreparedStatement<{ public_key: string; key_status: string } & KeyAndMerchant['merchant']>(
  "select k.public_key, k.status as key_status, m.id, m.name, m.status, m.settlement_preference, m.pseudonym_salt from merchant_keys k inner join merchants m on m.id = k.merchant_id where k.id = ? and k.use = 'sig'",
);
export const nonceParameters = (n: PendingNonce): unknown[] => [n.keyId, n.nonce, n.expiresAt];
export const nonceReused = (): SidebandError => new SidebandError('SIGNATURE_NONCE_REUSED', 'Signature refused: the nonce was already used.');

/**
 * Writes the nonce in `db`; a nonce already there is a replay (SIGNATURE_NONCE_REUSED),
 * its primary key making the check atomic. The caller marks it recorded once committed.
 */
export async function spendNonce(db: Db | Tx, pending: PendingNonce): Promise<void> {
  try {
    await insertNonce.run(db, dialectOf(db), nonceParameters(pending));
  } catch (e) {
    // Only a duplicate key means a replay; a store failure is not the merchant's fault.
    if (!isUniqueViolation(e)) throw e;
    throw nonceReused();
  }
}

/** What every merchant request's signature must cover (docs/merchant-api.md). */
const REQUIRED_COMPONENTS = ['@method', '@target-uri', 'content-digest'] as const;

export interface RequestAuthenticationOptions {
  /** How the target URI the merchant signed is rebuilt (public origin, trusted proxies). */
  targetUri?: TargetUriResolver;
  /** How long a key id found not to exist is refused without asking the store again. */
  unknownKeyMs?: number;
  /** Where the nonce is recorded; shared with the request's other writes so they share commits. */
  writes?: DurableWrites;
}

/**
 * Authenticates a merchant request: an RFC 9421 signature by an active registered
 * Ed25519 key, covering @method, @target-uri and content-digest (checked against the
 * body, RFC 9530) and idempotency-key whenever the request carries one, within its
 * validity, with a nonce never seen before for that key; and a merchant that is certified.
 *
 * The key's and the merchant's status are read from the store on every request (one
 * query), so a revocation by any process takes effect at the next request; only the
 * parsed public key is cached, by key id and PEM text. Key ids that do not exist are
 * remembered briefly (UnknownKeyIds), so forged key ids do not each cost a query.
 */
export class RequestAuthentication {
  /** Parsed public keys by key id; the PEM text they came from decides whether one is still current. */
  private readonly publicKeys = new OldestFirst<string, { pem: string; key: KeyObject }>();
  private readonly unknownKeyIds: UnknownKeyIds;
  readonly targetUri: TargetUriResolver;
  private readonly writes: DurableWrites;

  constructor(
    private readonly store: Store,
    private readonly maxAgeSeconds: number,
    options: RequestAuthenticationOptions = {},
  ) {
    this.targetUri = options.targetUri ?? new TargetUriResolver();
    this.writes = options.writes ?? new DurableWrites(store);
    this.unknownKeyIds = new UnknownKeyIds(async () => (await this.store.db.selectFrom('merchant_keys').select('id').where('use', '=', 'sig').execute()).map((r) => r.id), options.unknownKeyMs);
  }
  /** A merchant key was added elsewhere: a remembered miss must not refuse it. */
  keysChanged(): void {
    this.unknownKeyIds.forget();
  }


  /** The signing key and its merchant, or null when no signing key has that id. */
  private async keyAndMerchant(keyId: string, now: number): Promise<KeyAndMerchant | null> {
    if (await this.unknownKeyIds.isUnknown(keyId, now)) return null;
    const row = await keyWithMerchant.first(this.store.db, this.store.dialect, [keyId]);
    if (!row) {
      this.unknownKeyIds.remember(keyId, now);
      return null;
    }
    const { public_key, key_status, ...merchant } = row;
    return { public_key, key_status, merchant };
  }

  private publicKey(keyId: string, pem: string): KeyObject {
    const cached = this.publicKeys.get(keyId);
    if (cached?.pem === pem) return cached.key;
    const key = createPublicKey(pem);
    if (this.publicKeys.size >= 10_000) this.publicKeys.deleteOldest();
    this.publicKeys.set(keyId, { pem, key });
    return key;
  }

  /**
   * Verifies the request's signature and key. Its nonce is recorded before this returns,
   * or, with `deferNonce`, handed back for the request's first write to record (one commit
   * and one round trip fewer for a purchase).
   */
  async authenticate(request: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }, now = Date.now(), options: { deferNonce?: boolean } = {}): Promise<AuthenticatedMerchant> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    // RFC 9421 §7.2.1 "Insufficient Coverage": an Idempotency-Key outside the signature
    // could be changed on the way, turning one signed request into two operations.
    const idempotencyKey = headers['idempotency-key'] !== undefined;
    const requiredComponents = idempotencyKey ? [...REQUIRED_COMPONENTS, 'idempotency-key'] : [...REQUIRED_COMPONENTS];
    let found: KeyAndMerchant | null = null;
    const result = await verifyRequestSignature(
      { method: request.method, url: request.url, headers, body: request.body },
      {
        resolveKey: async (keyId: string) => {
          found = await this.keyAndMerchant(keyId, now);
          return found && found.key_status === 'active' ? this.publicKey(keyId, found.public_key) : null;
        },
        now: new Date(now),
        maxAgeSeconds: this.maxAgeSeconds,
        clockSkewSeconds: 30,
        requiredComponents,
        requiredParams: ['created', 'expires', 'nonce', 'keyid'],
      },
    );
    if (!result.ok) {
      if (result.reason === 'component-missing') {
        const why = idempotencyKey ? ' ("idempotency-key" because the request carries an Idempotency-Key header)' : '';
        throw new SidebandError('SIGNATURE_COMPONENT_MISSING', `Signature refused: it must cover ${requiredComponents.map((c) => `"${c}"`).join(' ')}${why}.`);
      }
      throw new SidebandError(codeFor[result.reason], `Signature refused: ${result.reason}.`);
    }
    // Required parameters are present once verification succeeded (requiredParams above).
    const created = result.created!;
    const expires = result.expires!;
    const nonce = result.nonce!;
    if (expires - created > this.maxAgeSeconds) throw new SidebandError('SIGNATURE_EXPIRED', `Signature refused: expires may be at most ${this.maxAgeSeconds} s after created.`);
    const entry = found as KeyAndMerchant | null;
    if (!entry) throw new SidebandError('SIGNATURE_KEY_UNKNOWN', 'Signature refused: key-unknown.');
    const merchant = entry.merchant;
    if (merchant.status === 'revoked') throw new SidebandError('MERCHANT_REVOKED', `Merchant ${merchant.id} is revoked.`);
    if (merchant.status !== 'certified') throw new SidebandError('MERCHANT_NOT_CERTIFIED', `Merchant ${merchant.id} is not certified.`);
    // The nonce is recorded only for a signature that verified, so nobody can burn a
    // merchant's nonces with forged requests; the primary key makes reuse fail atomically.
    const pending: PendingNonce = { keyId: result.keyid, nonce, expiresAt: (expires + 60) * 1000, recorded: false };
    if (options.deferNonce) return { merchant, keyId: result.keyid, pendingNonce: pending };
    await this.recordNonce(pending);
    return { merchant, keyId: result.keyid };
  }

  /** Records a deferred nonce on its own (nothing took it over); refuses a replay. */
  async recordNonce(pending: PendingNonce): Promise<void> {
    if (pending.recorded) return;
    await this.writes.one((q) => spendNonce(q, pending));
    pending.recorded = true;
  }

  async purgeNonces(now = Date.now()): Promise<void> {
    await this.store.db.deleteFrom('signature_nonces').where('expires_at', '<', now).execute();
  }
}
