import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import type { Acquirer } from '../../src/certification/settlement/acquirer.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { testScryptCost } from './contexts.ts';
import { throwawayDatabase, type TestDialect, type ThrowawayDatabase } from './databases.ts';

export interface TestGateway {
  gateway: Gateway;
  database: ThrowawayDatabase;
  operator(path: string): Promise<{ status: number; body: unknown }>;
  token: string;
  dispose(): Promise<void>;
}

/**
 * A whole gateway in this process, every listener on an ephemeral loopback port. With
 * `sharing`, another gateway's PostgreSQL database in a data directory of its own (with a copy
 * of its keyring); the database is then left for that gateway's dispose to drop.
 */
export async function startTestGateway(dialect: TestDialect, name: string, config: Partial<ConfigInput> = {}, options: { acquirer?: Acquirer; sharing?: ThrowawayDatabase } = {}): Promise<TestGateway> {
  const database: ThrowawayDatabase = options.sharing
    ? { ...options.sharing, dataDir: mkdtempSync(join(tmpdir(), `sideband-${dialect}-`)), drop: async () => rmSync(database.dataDir, { recursive: true, force: true }) }
    : await throwawayDatabase(dialect);
  // The database is sealed under the first gateway's master key: this one holds the same keyring.
  const keyring = options.sharing ? join(options.sharing.dataDir, 'master-keys.json') : null;
  if (keyring && existsSync(keyring)) copyFileSync(keyring, join(database.dataDir, 'master-keys.json'));
  const cfg = loadConfig({
    env: {},
    overrides: {
      ...config,
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
      demo: false,
      listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, portalHttp: 0, demoStoreHttp: 0, ...(config.listen ?? {}) },
      channel: { ...(config.channel ?? {}), exchange: { port: 0, ...(config.channel?.exchange ?? {}) } },
      // The tests' webhook receivers listen on 127.0.0.1; webhook-targets.test.ts checks the refusal.
      merchantApi: { webhookPrivateTargets: 'allow', ...(config.merchantApi ?? {}) },
    },
  });
  const gateway = new Gateway({ config: cfg, logger: createTestLogger(name), scryptCost: testScryptCost, ...(options.acquirer ? { acquirer: options.acquirer } : {}) });
  await gateway.start();
  const { token } = await gateway.context.tokens.issue('test');
  return {
    gateway,
    database,
    token,
    async operator(path) {
      const res = await fetch(`http://${gateway.listen.operatorHttp}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    },
    async dispose() {
      await gateway.stop();
      await database.drop();
    },
  };
}
