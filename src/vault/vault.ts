import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { newId } from '../core/identity/ids.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Db, Store, Tx } from '../store/open-store.ts';
import { PreparedStatement } from '../store/prepared-statement.ts';
import type { VaultRecordKind } from '../store/schema.ts';
import { openRecord, rewrapKey, sealRecord } from './envelope.ts';
import type { Keyring, MasterKey } from './keyring.ts';
import { MasterKeyRegistry } from './master-key-registry.ts';

/** Read before every audited decryption (a card for the channel, a CHAP secret): prepared once. */
const sealedRecord = new PreparedStatement<{ kind: VaultRecordKind; key_id: string; wrapped_key: string; ciphertext: string }>('select kind, key_id, wrapped_key, ciphertext from vault_records where id = ?');

/** A vault record whose decryption has been audited (Vault.auditOpen), still sealed. */
export interface AuditedRecord {
  id: string;
  keyId: string;
  wrappedKey: string;
  ciphertext: string;
}

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

export interface RotationResult {
  activeKey: string;
  previousKey: string | null;
  rewrapped: number;
  /** Records left under keys this keyring does not hold (or that were retired by force). */
  unreadable: number;
}

/**
 * The only place confidential data is encrypted and decrypted. Callers get plaintext
 * from `open`, which audits first: a decryption that could not be recorded does not happen.
 */
export class Vault {
  /** The database's record of master keys: which one new records are sealed under. */
  readonly keys: MasterKeyRegistry;
  private fingerprintKey: Buffer | null = null;
  /** The key seals try first: the database's active key as last seen. */
  private activeKeyId: string;
  private readonly events = new EventEmitter();
  private syncing: Promise<void> | null = null;
  private reportedMissing: string | null = null;
  private onFollowError: (e: unknown) => void = () => {};

  constructor(
    private readonly store: Store,
    readonly keyring: Keyring,
  ) {
    this.keys = new MasterKeyRegistry(store);
    this.activeKeyId = keyring.active.id;
  }

  /** The master key new records are sealed under, as this process last saw it. */
  get activeKey(): string {
    return this.activeKeyId;
  }

  /**
   * Seals `value` (JSON) as a new record inside the caller's transaction; returns its id.
   *
   * The record is written under the active key as last seen, then that key is confirmed
   * active in the same transaction (locking its row on PostgreSQL). If a rotation made
   * another key active meanwhile, the record is sealed again under that one before the
   * transaction commits: no process ever commits a record under a key that is not the
   * database's active key, so a rotation's re-wrap and `keys retire` cannot miss one.
   */
  async seal(tx: Db | Tx, kind: VaultRecordKind, value: unknown, now = Date.now()): Promise<string> {
    // The confirmation below holds only within a transaction.
    if (!tx.isTransaction) return (tx as Db).transaction().execute((own) => this.seal(own, kind, value, now));
    const id = newId('vr', now);
    const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
    try {
      let keyId = this.activeKeyId;
      let sealed = sealRecord(id, plaintext, this.masterKey(keyId));
      await tx.insertInto('vault_records').values({ id, kind, key_id: sealed.keyId, wrapped_key: sealed.wrappedKey, ciphertext: sealed.ciphertext, created_at: now, updated_at: now }).execute();
      for (let attempt = 0; !(await this.keys.confirmActive(tx as Tx, keyId)); attempt++) {
        const current = await this.keys.activeId(tx);
        if (current === null) {
          // A store no process has recorded a key in yet: this one becomes the active key.
          await this.keys.activate(keyId, now, tx);
          break;
        }
        if (attempt >= 3) throw new SidebandError('VAULT_KEYRING_MISMATCH', `The database's active master key keeps changing (${keyId}, then ${current}); nothing was sealed. Is a rotation running in a loop?`);
        keyId = current;
        sealed = sealRecord(id, plaintext, this.masterKey(keyId));
        await tx.updateTable('vault_records').set({ key_id: sealed.keyId, wrapped_key: sealed.wrappedKey, ciphertext: sealed.ciphertext }).where('id', '=', id).execute();
      }
      this.noteActive(keyId);
      return id;
    } finally {
      plaintext.fill(0);
    }
  }

  /** The material of a key the database wants sealed under; refusing, rather than sealing under another. */
  private masterKey(keyId: string): MasterKey {
    if (!this.keyring.has(keyId)) {
      throw new SidebandError('VAULT_KEYRING_MISMATCH', `The database at ${this.store.location} seals under master key ${keyId}, which ${this.keyring.source} does not hold (it holds ${this.keyring.ids.join(', ') || 'none'}); nothing was written. Give this process the keyring the other gateways use (vault.keyFile, SIDEBAND_VAULT_KEY_FILE) or SIDEBAND_MASTER_KEY.`, { param: 'vault.keyFile' });
    }
    return this.keyring.get(keyId);
  }

  private noteActive(keyId: string): void {
    if (keyId === this.activeKeyId) return;
    this.activeKeyId = keyId;
    this.events.emit('active-key', keyId);
  }

  /** Reads the database's active key now; seals use it from then on. */
  async refreshActiveKey(): Promise<string> {
    const current = await this.keys.activeId();
    if (current) this.noteActive(current);
    return this.activeKeyId;
  }

  /** Resolves when this process starts sealing under another key (tests wait on it). */
  async nextActiveKey(signal?: AbortSignal): Promise<string> {
    const [keyId] = (await once(this.events, 'active-key', signal ? { signal } : {})) as [string];
    return keyId;
  }

  /**
   * Follows the database's active key: on PostgreSQL a rotation in any process announces
   * itself (`vault.key.activate`) and the gateway calls `syncActiveKey` at once; this poll
   * every `intervalMs` is the safety net, and SQLite's only way. Seals are correct without
   * either: each confirms its key in its own transaction; following spares them sealing
   * twice. Returns the stop function.
   */
  followActiveKey(intervalMs: number, onError: (e: unknown) => void): () => void {
    this.onFollowError = onError;
    const timer = setInterval(() => void this.syncActiveKey(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Reads the database's active key and seals under it from now; a key the keyring lacks is reported once. */
  syncActiveKey(): Promise<void> {
    this.syncing ??= this.keys
      .activeId()
      .then((current) => {
        if (!current || current === this.activeKeyId) return;
        if (!this.keyring.has(current)) {
          if (this.reportedMissing !== current) this.onFollowError(new SidebandError('VAULT_KEYRING_MISMATCH', `The database's active master key is now ${current}, which ${this.keyring.source} does not hold: this gateway refuses to seal until it does.`));
          this.reportedMissing = current;
        }
        this.noteActive(current);
      })
      .catch((e) => this.onFollowError(e))
      .finally(() => {
        this.syncing = null;
      });
    return this.syncing;
  }

  async open<T>(recordId: string, purpose: DecryptPurpose, actor: string, db: Db | Tx = this.store.db): Promise<T> {
    return this.openAudited<T>(await this.auditOpen(db, recordId, purpose, actor));
  }

  /**
   * The first half of `open` for a caller that records the audit entry in its own
   * transaction, beside its other writes: reads the record and appends the entry in `db`.
   * Pass the result to `openAudited` only once that transaction has committed.
   */
  async auditOpen(db: Db | Tx, recordId: string, purpose: DecryptPurpose, actor: string): Promise<AuditedRecord> {
    const row = await sealedRecord.first(db, this.store.dialect, [recordId]);
    if (!row) throw new SidebandError('VAULT_DECRYPT_FAILED', `Vault record ${recordId} does not exist.`);
    // A key this keyring lacks fails here, before anything is audited.
    this.keyring.get(row.key_id);
    await appendAudit(db, { actor, action: 'vault.decrypt', subjectType: 'vault_record', subjectId: recordId, detail: { purpose, kind: row.kind, keyId: row.key_id } });
    return { id: recordId, keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext };
  }

  /** Decrypts a record whose audit entry `auditOpen` wrote in a transaction that has committed. */
  openAudited<T>(record: AuditedRecord): T {
    const plain = openRecord(record.id, { keyId: record.keyId, wrappedKey: record.wrappedKey, ciphertext: record.ciphertext }, this.keyring.get(record.keyId).key);
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
   * `keys rotate`: a new master key is written to the keyring file (fsynced with its
   * directory) and only then made the database's active key; every data key is then
   * re-wrapped under it. With `resume`, finishes an interrupted rotation instead: the
   * keyring's newest key becomes active if the database has never recorded it (the crash
   * came between the file and the database), and the re-wrap continues.
   */
  async rotate({ resume = false } = {}, onProgress?: (p: RotationProgress) => void): Promise<RotationResult> {
    const previous = await this.keys.activeId();
    if (resume) {
      const newest = this.keyring.active.id;
      if ((await this.keys.status(newest)) === null) await this.keys.activate(newest);
    } else {
      this.keyring.assertWritable('rotate');
      const key = this.keyring.addActiveKey();
      await this.keys.activate(key.id);
    }
    const active = await this.refreshActiveKey();
    const progress = await this.rewrapAll(onProgress);
    return { activeKey: active, previousKey: previous === active ? null : previous, rewrapped: progress.done, unreadable: progress.unreadable };
  }

  /**
   * Re-wraps every data key not under the database's active master key, in batches, each
   * batch one transaction; a row is only rewritten if it is still under the key it was read
   * with, so a concurrent writer is never overwritten. Records under a key this keyring
   * does not hold are counted and left. Safe to run again after a crash.
   */
  async rewrapAll(onProgress?: (p: RotationProgress) => void, batchSize = 500): Promise<RotationProgress & { unreadable: number }> {
    const target = this.masterKey(await this.refreshActiveKey());
    const db = this.store.db;
    const { count } = await db.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('count')).where('key_id', '!=', target.id).executeTakeFirstOrThrow();
    const progress = { done: 0, total: Number(count), unreadable: 0 };
    const missing = new Set<string>();
    onProgress?.(progress);
    for (;;) {
      let q = db.selectFrom('vault_records').select(['id', 'key_id', 'wrapped_key', 'ciphertext']).where('key_id', '!=', target.id);
      if (missing.size > 0) q = q.where('key_id', 'not in', [...missing]);
      const rows = await q.orderBy('id').limit(batchSize).execute();
      if (rows.length === 0) break;
      const readable: typeof rows = [];
      for (const row of rows) {
        if (this.keyring.has(row.key_id)) readable.push(row);
        else missing.add(row.key_id);
      }
      if (readable.length === 0) continue;
      await db.transaction().execute(async (tx) => {
        for (const row of readable) {
          const from = this.keyring.get(row.key_id);
          const next = rewrapKey(row.id, { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, from.key, target);
          await tx.updateTable('vault_records').set({ key_id: next.keyId, wrapped_key: next.wrappedKey, updated_at: Date.now() }).where('id', '=', row.id).where('key_id', '=', row.key_id).execute();
        }
      });
      progress.done += readable.length;
      onProgress?.(progress);
    }
    if (missing.size > 0) {
      const left = await db.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('n')).where('key_id', 'in', [...missing]).executeTakeFirstOrThrow();
      progress.unreadable = Number(left.n);
    }
    return progress;
  }

  async countByKey(): Promise<Record<string, number>> {
    const rows = await this.store.db.selectFrom('vault_records').select(['key_id', (eb) => eb.fn.countAll<number>().as('count')]).groupBy('key_id').execute();
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.count)]));
  }

  /**
   * Retires a master key once no record needs it (or, with force, regardless): first in
   * the database, where the check and the mark are one transaction that no concurrent seal
   * can slip past (MasterKeyRegistry.retire), then its material is destroyed in the file.
   */
  async retire(keyId: string, { force = false } = {}): Promise<void> {
    this.keyring.assertWritable('retire');
    if (!this.keyring.has(keyId) && (await this.keys.status(keyId)) === null) throw new SidebandError('VAULT_KEY_UNKNOWN', `No master key ${keyId} in ${this.keyring.source} nor in the database.`);
    if (keyId === this.keyring.active.id) throw new SidebandError('VAULT_KEY_IN_USE', `Key ${keyId} is the keyring's active key; rotate first.`);
    await this.keys.retire(keyId, { force });
    this.keyring.retire(keyId);
  }
}
