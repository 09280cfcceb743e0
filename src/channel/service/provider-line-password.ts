import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import type { Config } from '../../config/schema.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { openStore, sqlitePath, type Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';

const findRecord = (store: Store) => store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').orderBy('created_at').orderBy('id').executeTakeFirst();

/**
 * The password of the provider's line at the exchange, for a gateway: the configured one,
 * or one generated on first start and sealed in the vault, so that every gateway sharing
 * the database, and `sideband exchange` run beside them, present and expect the same one.
 * No default exists in the code: a known line password lets anyone who reaches the
 * exchange register the provider's numbers and take its calls.
 */
export async function providerLinePassword(config: Config, store: Store, vault: Vault): Promise<string> {
  if (config.channel.exchange.password !== undefined) return config.channel.exchange.password;
  if (!(await findRecord(store))) {
    await store.db.transaction().execute(async (tx) => {
      // Gateways starting together on one PostgreSQL would each see no record and seal
      // their own; each would then read back the oldest it can see, and one that commits
      // before an older one would keep a password the others do not use. The lock (held to
      // the commit) makes the second wait and then find the first's record. SQLite needs
      // none: one gateway per data directory, and a second writer's transaction that read
      // before another's commit fails to write (SQLITE_BUSY_SNAPSHOT) rather than seal.
      if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('sideband.line-password'))`.execute(tx);
      const again = await tx.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').executeTakeFirst();
      if (!again) await vault.seal(tx, 'line-password', { password: randomBytes(24).toString('base64url') });
    });
  }
  return (await storedLinePassword(store, vault))!;
}

/** The provider line password the gateways sealed in the vault, if one did; never generates one. */
export async function storedLinePassword(store: Store, vault: Vault): Promise<string | null> {
  const row = await findRecord(store);
  if (!row) return null;
  const { password } = await vault.open<{ password: string }>(row.id, 'secure-channel', 'system:line-password');
  return password;
}

/**
 * For `sideband exchange` alone: does the database it was given hold the provider line
 * password the gateways generated? Looked at without creating anything (no SQLite file,
 * no migration, no keyring), so that an exchange pointed at the wrong place refuses
 * instead of inventing a password the gateways would not know.
 */
export async function haveStoredLinePassword(config: Config): Promise<boolean> {
  if (!config.databaseUrl && !existsSync(sqlitePath(config.dataDir))) return false;
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, migrate: false, verifySchema: false });
  try {
    return (await findRecord(store)) !== undefined;
  } catch {
    return false; // no vault_records table: a database no gateway has set up
  } finally {
    await store.close();
  }
}

/** Why `sideband exchange` alone has no provider line password, and how to give it one. */
export const linePasswordUnknown = (config: Config): SidebandError =>
  new SidebandError(
    'CHANNEL_LINE_PASSWORD_UNKNOWN',
    `channel.exchange.password is not set and ${config.databaseUrl ? 'the database given with --database-url' : `the data directory ${config.dataDir}`} holds no provider line password. The exchange alone never generates one: the gateways would not know it. Set channel.exchange.password in this configuration and the gateways', or point --data-dir / --database-url (and the keyring) at the gateways' data once a gateway has started on it.`,
    { param: 'channel.exchange.password' },
  );
