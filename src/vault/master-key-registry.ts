import { sql } from 'kysely';
import { SidebandError } from '../errors/sideband-error.ts';
import { announce } from '../store/change-notices.ts';
import type { Db, Store, Tx } from '../store/open-store.ts';
import type { VaultMasterKeyTable } from '../store/schema.ts';

export type MasterKeyStatus = VaultMasterKeyTable['status'];

export interface RecordedMasterKey {
  keyId: string;
  status: MasterKeyStatus;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
}

/**
 * The database's side of the keyring: which master key ids its records have been sealed
 * under and which one is active (table vault_master_keys, at most one active row). The
 * keyring file holds the key material; this says which of it the data needs, so that a
 * process with another keyring is refused before it writes, and every gateway seals under
 * the key the last rotation made active, whichever process rotated.
 */
export class MasterKeyRegistry {
  constructor(private readonly store: Store) {}

  async activeId(db: Db | Tx = this.store.db): Promise<string | null> {
    const row = await db.selectFrom('vault_master_keys').select('key_id').where('status', '=', 'active').executeTakeFirst();
    return row?.key_id ?? null;
  }

  async status(keyId: string, db: Db | Tx = this.store.db): Promise<MasterKeyStatus | null> {
    const row = await db.selectFrom('vault_master_keys').select('status').where('key_id', '=', keyId).executeTakeFirst();
    return row?.status ?? null;
  }

  async list(): Promise<RecordedMasterKey[]> {
    const rows = await this.store.db.selectFrom('vault_master_keys').selectAll().orderBy('created_at').orderBy('key_id').execute();
    return rows.map((r) => ({ keyId: r.key_id, status: r.status, createdAt: r.created_at, activatedAt: r.activated_at, retiredAt: r.retired_at }));
  }

  /**
   * Inside the transaction of a seal, after its record was written: is `keyId` the active
   * key? On PostgreSQL the key's row is share-locked until the transaction ends, so that a
   * rotation (which updates the active row) or a retirement cannot commit in between; on
   * SQLite the transaction already holds the database's write lock since its insert.
   */
  async confirmActive(tx: Tx, keyId: string): Promise<boolean> {
    if (this.store.dialect === 'postgres') {
      const row = await sql<{ status: MasterKeyStatus }>`select status from vault_master_keys where key_id = ${keyId} for share`.execute(tx);
      return row.rows[0]?.status === 'active';
    }
    return (await this.status(keyId, tx)) === 'active';
  }

  /**
   * Makes `keyId` the active key, the one before it `previous`, in one transaction. The
   * caller has made the key material durable first (the keyring file and its directory
   * are fsynced), so the database never names a key that a crash could lose.
   */
  async activate(keyId: string, now = Date.now(), db: Db | Tx = this.store.db): Promise<void> {
    const run = async (tx: Tx) => {
      await tx.updateTable('vault_master_keys').set({ status: 'previous' }).where('status', '=', 'active').where('key_id', '!=', keyId).execute();
      await tx
        .insertInto('vault_master_keys')
        .values({ key_id: keyId, status: 'active', created_at: now, activated_at: now, retired_at: null })
        .onConflict((oc) => oc.column('key_id').doUpdateSet({ status: 'active', activated_at: now }))
        .execute();
      await announce(tx, 'vault.key.activate', keyId);
    };
    if (db.isTransaction) await run(db as Tx);
    else await (db as Db).transaction().execute(run);
  }

  /**
   * Records `keyId` as the active key when the database has none yet (a first start, or
   * the first start after the upgrade that added this table); returns the active key id.
   */
  async adopt(keyId: string, now = Date.now()): Promise<string> {
    const active = await this.activeId();
    if (active) return active;
    try {
      await this.store.db.transaction().execute(async (tx) => {
        if (!(await this.activeId(tx))) await this.activate(keyId, now, tx);
      });
    } catch (e) {
      // Two processes adopting at once: the partial unique index lets one win.
      const winner = await this.activeId();
      if (winner) return winner;
      throw e;
    }
    return (await this.activeId()) ?? keyId;
  }

  /**
   * Marks a key retired once no record is sealed under it. The key's row is written
   * first, which waits for any seal holding it (the share lock of confirmActive) and keeps
   * any later seal from taking it; only then are its records counted, in a statement that
   * sees every seal committed before. A seal that wrote under this key meanwhile finds it
   * retired and re-seals under the active key before it commits, so no record can be
   * left under a destroyed key.
   */
  async retire(keyId: string, { force = false, now = Date.now() } = {}): Promise<{ records: number }> {
    return this.store.db.transaction().execute(async (tx) => {
      // The write comes first: on SQLite it takes the write lock before anything is read.
      const marked = await tx.updateTable('vault_master_keys').set({ status: 'retired', retired_at: now }).where('key_id', '=', keyId).where('status', '=', 'previous').executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) {
        const status = await this.status(keyId, tx);
        if (status === 'active') throw new SidebandError('VAULT_KEY_IN_USE', `Master key ${keyId} is the database's active key: run \`sideband keys rotate\` first.`);
        if (status === null) await tx.insertInto('vault_master_keys').values({ key_id: keyId, status: 'retired', created_at: now, activated_at: null, retired_at: now }).execute();
      }
      const { n } = await tx.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('n')).where('key_id', '=', keyId).executeTakeFirstOrThrow();
      const records = Number(n);
      if (records > 0 && !force) throw new SidebandError('VAULT_KEY_IN_USE', `${records} vault records are still wrapped under ${keyId}; run \`sideband keys rotate --resume\` first.`);
      return { records };
    });
  }
}
