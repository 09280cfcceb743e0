import { sql, type Kysely } from 'kysely';

/**
 * Operations that cannot be mixed up (docs/operations.md):
 * - the database records the master keys its vault records are sealed under, and which
 *   one is active, so that a gateway or command holding another keyring refuses before
 *   writing, and every gateway seals under the key `keys rotate` made active; at most
 *   one key is active (a partial unique index, the same syntax on both dialects);
 * - a NAS client can be removed while its sessions stay in the history that resolution
 *   answers from (sessions refer to it), so removal is a mark, not a delete.
 *
 * The keys already in use are recorded as `previous`; the first gateway or command that
 * opens the database afterwards records its keyring's active key as the active one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('vault_master_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'previous', 'retired')`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('activated_at', 'bigint')
    .addColumn('retired_at', 'bigint')
    .execute();
  await sql`create unique index vault_master_keys_one_active on vault_master_keys (status) where status = 'active'`.execute(db);
  await sql`insert into vault_master_keys (key_id, status, created_at) select key_id, 'previous', min(created_at) from vault_records group by key_id`.execute(db);

  await db.schema.alterTable('nas_clients').addColumn('removed_at', 'bigint').execute();
}
