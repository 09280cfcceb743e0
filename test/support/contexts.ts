import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { openContext, type Context } from '../../src/gateway/context.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { throwawayDatabase, type TestDialect, type ThrowawayDatabase } from './databases.ts';

/** scrypt at a cost tests can afford for hundreds of subscribers; production uses the default. */
export const testScryptCost = { N: 1024, r: 8, p: 1 };

export interface TestContext {
  ctx: Context;
  database: ThrowawayDatabase;
  dispose(): Promise<void>;
}

/** A migrated store, a fresh keyring and the services, on a throwaway database. */
export async function testContext(dialect: TestDialect, name: string, config: Partial<ConfigInput> = {}): Promise<TestContext> {
  const database = await throwawayDatabase(dialect);
  const cfg = loadConfig({ env: {}, overrides: { ...config, dataDir: database.dataDir, databaseUrl: database.databaseUrl, demo: false } });
  const ctx = await openContext(cfg, createTestLogger(name), { actor: 'test', scryptCost: testScryptCost, env: {} });
  return {
    ctx,
    database,
    async dispose() {
      await ctx.close();
      await database.drop();
    },
  };
}
