import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const adminUrl = (): string => process.env.SIDEBAND_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

describe('GET /healthz', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway('postgres', 'health-check', { channel: { enabled: false } });
  });
  after(async () => {
    await admin(`alter database ${t.database.name} with allow_connections true`);
    await t.dispose();
  });

  const health = async () => {
    const res = await fetch(`http://${t.gateway.listen.operatorHttp}/healthz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 200 while the database answers, 503 while it does not, and 200 again', async () => {
    assert.deepEqual(await health(), { status: 200, body: { status: 'ok', store: 'postgres' } });
    await admin(`alter database ${t.database.name} with allow_connections false`);
    await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${t.database.name}' and pid <> pg_backend_pid()`);
    const down = await health();
    assert.equal(down.status, 503);
    assert.deepEqual(down.body, { status: 'unavailable', store: 'postgres', error: { code: 'STORE_UNREACHABLE' } });
    await admin(`alter database ${t.database.name} with allow_connections true`);
    assert.equal((await health()).status, 200);
  });
});
