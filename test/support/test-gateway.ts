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

/** A whole gateway in this process, every listener on an ephemeral loopback port. */
export async function startTestGateway(dialect: TestDialect, name: string, config: Partial<ConfigInput> = {}, options: { acquirer?: Acquirer } = {}): Promise<TestGateway> {
  const database = await throwawayDatabase(dialect);
  const cfg = loadConfig({
    env: {},
    overrides: {
      ...config,
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
      demo: false,
      listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, ...(config.listen ?? {}) },
      channel: { ...(config.channel ?? {}), exchange: { port: 0, ...(config.channel?.exchange ?? {}) } },
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
