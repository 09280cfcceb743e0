import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';

/**
 * The password of the provider's line at the exchange: the configured one, or one
 * generated on first start and sealed in the vault, so that every gateway sharing the
 * database, and `sideband exchange` run beside them, present and expect the same one. No
 * default exists in the code: a known line password lets anyone who reaches the exchange
 * register the provider's numbers and take its calls.
 */
export async function providerLinePassword(config: Config, store: Store, vault: Vault): Promise<string> {
  if (config.channel.exchange.password !== undefined) return config.channel.exchange.password;
  const find = () => store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').orderBy('created_at').orderBy('id').executeTakeFirst();
  let row = await find();
  if (!row) {
    await store.db.transaction().execute(async (tx) => {
      const again = await tx.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').executeTakeFirst();
      if (!again) await vault.seal(tx, 'line-password', { password: randomBytes(24).toString('base64url') });
    });
    row = await find();
  }
  const { password } = await vault.open<{ password: string }>(row!.id, 'secure-channel', 'system:line-password');
  return password;
}
