import { createHmac, randomBytes } from 'node:crypto';
import { newId } from '../core/identity/ids.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Db, Store, Tx } from '../store/open-store.ts';
import type { VaultRecordKind } from '../store/schema.ts';
import { openRecord, rewrapKey, sealRecord } from './envelope.ts';
import type { Keyring } from './keyring.ts';

/** Why a record is being opened; written to the audit log with every decryption. */
export type DecryptPurpose =
  | 'radius-chap'
  | 'radius-nas-secret'
  | 'authorization-credit-check'
  | 'settlement-acquirer'
  | 'settlement-merchant-release'
  | 'secure-channel'
  | 'webhook-signing'
  | 'operator-verify';

export interface RotationProgress {
  done: number;
  total: number;
}

/**
 * The only place confidential data is encrypted and decrypted. Callers get plaintext
 * from `open`, which audits first: a decryption that could not be recorded does not happen.
 */
export class Vault {
  private fingerprintKey: Buffer | null = null;

  constructor(
    private readonly store: Store,
    readonly keyring: Keyring,
  ) {}

  /** Seals `value` (JSON) as a new record inside the caller's transaction; returns its id. */
  async seal(tx: Db | Tx, kind: VaultRecordKind, value: unknown, now = Date.now()): Promise<string> {
    const id = newId('vr', now);
    const sealed = sealRecord(id, Buffer.from(JSON.stringify(value), 'utf8'), this.keyring.active);
    await tx.insertInto('vault_records').values({ id, kind, key_id: sealed.keyId, wrapped_key: sealed.wrappedKey, ciphertext: sealed.ciphertext, created_at: now, updated_at: now }).execute();
    return id;
  }

  async open<T>(recordId: string, purpose: DecryptPurpose, actor: string, db: Db | Tx = this.store.db): Promise<T> {
    const row = await db.selectFrom('vault_records').select(['kind', 'key_id', 'wrapped_key', 'ciphertext']).where('id', '=', recordId).executeTakeFirst();
    if (!row) throw new SidebandError('VAULT_DECRYPT_FAILED', `Vault record ${recordId} does not exist.`);
    const master = this.keyring.get(row.key_id);
    await appendAudit(db, { actor, action: 'vault.decrypt', subjectType: 'vault_record', subjectId: recordId, detail: { purpose, kind: row.kind, keyId: row.key_id } });
    const plain = openRecord(recordId, { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, master.key);
    return JSON.parse(plain.toString('utf8')) as T;
  }

  async remove(tx: Db | Tx, recordId: string): Promise<void> {
    await tx.deleteFrom('vault_records').where('id', '=', recordId).execute();
  }

  /**
   * HMAC-SHA-256 of a card number under a key that lives sealed in the vault itself
   * (PCI DSS 3.5.1.1: a keyed hash, so a table dump cannot be brute-forced from BINs).
   */
  async fingerprint(value: string): Promise<string> {
    const key = await this.loadFingerprintKey();
    return createHmac('sha256', key).update(value).digest('hex');
  }

  private async loadFingerprintKey(): Promise<Buffer> {
    if (this.fingerprintKey) return this.fingerprintKey;
    const db = this.store.db;
    let row = await db.selectFrom('vault_records').select('id').where('kind', '=', 'fingerprint-key').orderBy('created_at').executeTakeFirst();
    if (!row) {
      await db.transaction().execute(async (tx) => {
        const again = await tx.selectFrom('vault_records').select('id').where('kind', '=', 'fingerprint-key').executeTakeFirst();
        if (!again) await this.seal(tx, 'fingerprint-key', { key: randomBytes(32).toString('base64') });
      });
      row = await db.selectFrom('vault_records').select('id').where('kind', '=', 'fingerprint-key').orderBy('created_at').executeTakeFirstOrThrow();
    }
    const { key } = await this.open<{ key: string }>(row.id, 'operator-verify', 'system:fingerprint', db);
    this.fingerprintKey = Buffer.from(key, 'base64');
    return this.fingerprintKey;
  }

  /**
   * Re-wraps every data key not under the active master key, in batches, each batch one
   * transaction; a row is only rewritten if it is still under the key it was read with,
   * so a concurrent writer is never overwritten. Safe to run again after a crash.
   */
  async rewrapAll(onProgress?: (p: RotationProgress) => void, batchSize = 500): Promise<RotationProgress> {
    const target = this.keyring.active;
    const db = this.store.db;
    const { count } = await db.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('count')).where('key_id', '!=', target.id).executeTakeFirstOrThrow();
    const progress = { done: 0, total: Number(count) };
    onProgress?.(progress);
    for (;;) {
      const rows = await db.selectFrom('vault_records').select(['id', 'key_id', 'wrapped_key', 'ciphertext']).where('key_id', '!=', target.id).orderBy('id').limit(batchSize).execute();
      if (rows.length === 0) break;
      await db.transaction().execute(async (tx) => {
        for (const row of rows) {
          const from = this.keyring.get(row.key_id);
          const next = rewrapKey(row.id, { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, from.key, target);
          await tx.updateTable('vault_records').set({ key_id: next.keyId, wrapped_key: next.wrappedKey, updated_at: Date.now() }).where('id', '=', row.id).where('key_id', '=', row.key_id).execute();
        }
      });
      progress.done += rows.length;
      onProgress?.(progress);
    }
    return progress;
  }

  async countByKey(): Promise<Record<string, number>> {
    const rows = await this.store.db.selectFrom('vault_records').select(['key_id', (eb) => eb.fn.countAll<number>().as('count')]).groupBy('key_id').execute();
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.count)]));
  }

  /** Retires a master key once no record needs it (or, with force, regardless). */
  async retire(keyId: string, { force = false } = {}): Promise<void> {
    const inUse = (await this.countByKey())[keyId] ?? 0;
    if (inUse > 0 && !force) throw new SidebandError('VAULT_KEY_IN_USE', `${inUse} vault records are still wrapped under ${keyId}; run \`sideband keys rotate\` first.`);
    this.keyring.retire(keyId);
  }
}
