import { sql } from 'kysely';
import { SidebandError } from '../errors/sideband-error.ts';
import type { Store } from '../store/open-store.ts';
import type { Keyring } from './keyring.ts';

/** The master keys a database needs, read before anything is written to it. */
export interface KeysInUse {
  /** The key new records are sealed under, once the database records one. */
  active: string | null;
  /** Every key id records may still be sealed under. */
  ids: string[];
}

async function tableExists(store: Store, name: string): Promise<boolean> {
  if (store.dialect === 'sqlite') {
    const r = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = ${name}`.execute(store.db);
    return r.rows.length > 0;
  }
  const r = await sql<{ t: string | null }>`select to_regclass(${name})::text as t`.execute(store.db);
  return r.rows[0]?.t != null;
}

/**
 * Reads which keys the database needs: from vault_master_keys, or, on a database not yet
 * migrated to it, from the key ids of its sealed records. A database with neither table
 * (never migrated) needs none.
 */
export async function keysTheDatabaseNeeds(store: Store): Promise<KeysInUse> {
  if (await tableExists(store, 'vault_master_keys')) {
    const rows = await store.db.selectFrom('vault_master_keys').select(['key_id', 'status']).where('status', '!=', 'retired').orderBy('created_at').execute();
    return { active: rows.find((r) => r.status === 'active')?.key_id ?? null, ids: rows.map((r) => r.key_id) };
  }
  if (await tableExists(store, 'vault_records')) {
    const rows = await store.db.selectFrom('vault_records').select('key_id').distinct().execute();
    return { active: null, ids: rows.map((r) => r.key_id) };
  }
  return { active: null, ids: [] };
}

/**
 * Refuses a keyring that lacks the database's active key (or, before one is recorded,
 * every key its records are under): the message says which key is needed and where
 * keyrings are looked for.
 */
export function verifyKeyring(keyring: Keyring, inUse: KeysInUse, store: Store): void {
  const needed = inUse.active !== null ? [inUse.active] : inUse.ids;
  if (needed.length === 0 || needed.some((id) => keyring.has(id))) return;
  const what = inUse.active !== null ? `its active master key ${inUse.active}` : `master key ${needed.join(' or ')}`;
  throw new SidebandError(
    'VAULT_KEYRING_MISMATCH',
    `The database at ${store.location} seals its records under ${what}, which ${keyring.source} does not hold (it holds ${keyring.ids.join(', ') || 'no key'}). Nothing was written. ` +
      'A keyring is read from vault.keyFile (SIDEBAND_VAULT_KEY_FILE; master-keys.json in the data directory by default) or from SIDEBAND_MASTER_KEY: give this process the one the database was written with.',
    { param: 'vault.keyFile' },
  );
}
