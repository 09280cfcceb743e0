import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { MerchantRegistry } from '../certification/merchant-registry.ts';
import type { Config } from '../config/schema.ts';
import type { ScryptCost } from '../core/identity/password-hash.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import type { Logger } from '../observability/logger.ts';
import { NetworkProvisioning } from '../provisioning/network.ts';
import { DeterministicNatProvisioning } from '../provisioning/deterministic-nat.ts';
import { OperatorTokens } from '../provisioning/operator-tokens.ts';
import { SessionProvisioning } from '../provisioning/sessions.ts';
import { SubscriberProvisioning } from '../provisioning/subscribers.ts';
import { migrateStore, openStore, type Store } from '../store/open-store.ts';
import { ExporterRegistry } from '../tracking/service/exporter-registry.ts';
import { Keyring } from '../vault/keyring.ts';
import { Vault } from '../vault/vault.ts';
import { keysTheDatabaseNeeds, verifyKeyring, type KeysInUse } from '../vault/keyring-check.ts';

/** What every command and the gateway share: the store, the vault and the services over them. */
export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly keyring: Keyring;
  readonly vault: Vault;
  readonly subscribers: SubscriberProvisioning;
  readonly network: NetworkProvisioning;
  readonly nat: DeterministicNatProvisioning;
  readonly sessions: SessionProvisioning;
  readonly merchants: MerchantRegistry;
  readonly tokens: OperatorTokens;
  readonly exporters: ExporterRegistry;
  /** True when this open created the keyring (a first development start). */
  readonly createdKey: boolean;
  close(): Promise<void>;
}

export const keyFilePath = (config: Config): string => (isAbsolute(config.vault.keyFile) ? config.vault.keyFile : join(config.dataDir, config.vault.keyFile));

/**
 * Resolves the master key: SIDEBAND_MASTER_KEY, else the keyring file; a missing file is
 * created only while the database needs no key (no sealed record, no key recorded), so
 * that a lost key is an error and never silently replaced by a new one.
 */
function openKeyring(config: Config, store: Store, env: NodeJS.ProcessEnv, inUse: KeysInUse): { keyring: Keyring; created: boolean } {
  if (env.SIDEBAND_MASTER_KEY) return { keyring: Keyring.fromEnvironment(env.SIDEBAND_MASTER_KEY), created: false };
  const path = keyFilePath(config);
  if (existsSync(path)) return { keyring: Keyring.load(path), created: false };
  if (inUse.active !== null || inUse.ids.length > 0) {
    const needed = inUse.active ?? inUse.ids.join(' or ');
    throw new SidebandError('VAULT_KEY_MISSING', `No master key at ${path}, but the database at ${store.location} is sealed under ${needed}: restore that keyring there, point vault.keyFile (SIDEBAND_VAULT_KEY_FILE) at it, or set SIDEBAND_MASTER_KEY.`, { param: 'vault.keyFile' });
  }
  return { keyring: Keyring.create(path), created: true };
}

/**
 * Opens the store and the vault for a command or the gateway. The keyring is checked
 * against the keys the database records before anything is written (migrations
 * included): a process holding another keyring refuses rather than seal records that
 * the others cannot open.
 */
export async function openContext(config: Config, logger: Logger, options: { actor?: string; scryptCost?: ScryptCost; env?: NodeJS.ProcessEnv } = {}): Promise<Context> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, migrate: false, verifySchema: false });
  try {
    const inUse = await keysTheDatabaseNeeds(store);
    const { keyring, created } = openKeyring(config, store, options.env ?? process.env, inUse);
    verifyKeyring(keyring, inUse, store);
    await migrateStore(store);
    const vault = new Vault(store, keyring);
    const active = await vault.keys.adopt(keyring.active.id);
    if (!keyring.has(active)) verifyKeyring(keyring, { active, ids: [active] }, store);
    await vault.refreshActiveKey();
    const actor = options.actor ?? 'cli';
    return {
      config, logger, store, keyring, vault, createdKey: created,
      subscribers: new SubscriberProvisioning(store, vault, { actor, ...(options.scryptCost ? { scryptCost: options.scryptCost } : {}) }),
      network: new NetworkProvisioning(store, vault, actor),
      nat: new DeterministicNatProvisioning(store, actor),
      sessions: new SessionProvisioning(store, actor),
      merchants: new MerchantRegistry(store, actor),
      tokens: new OperatorTokens(store, actor),
      exporters: new ExporterRegistry(store, actor),
      close: () => store.close(),
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
