import { createChannelIdentity, type ChannelIdentity } from '@sideband/channel';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';

/**
 * The provider's certificate on the call. Generated once, sealed in the vault like every
 * other key, so that every gateway sharing the database presents the same one — the one
 * merchants read from GET /v1/channel and pin.
 */
export async function loadProviderIdentity(store: Store, vault: Vault): Promise<ChannelIdentity> {
  const find = () => store.db.selectFrom('vault_records').select('id').where('kind', '=', 'channel-identity').orderBy('created_at').executeTakeFirst();
  let row = await find();
  if (!row) {
    const fresh = await createChannelIdentity('provider.sideband');
    await store.db.transaction().execute(async (tx) => {
      const again = await tx.selectFrom('vault_records').select('id').where('kind', '=', 'channel-identity').executeTakeFirst();
      if (!again) await vault.seal(tx, 'channel-identity', fresh);
    });
    row = await find();
  }
  return vault.open<ChannelIdentity>(row!.id, 'secure-channel', 'system:channel-identity');
}
