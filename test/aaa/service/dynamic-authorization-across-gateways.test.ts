import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamicAuthorizationView } from '../../../src/aaa/service/dynamic-authorization-queue.ts';
import { runCli } from '../../support/run-cli.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';
import { TestNas } from '../../support/test-nas.ts';

const SECRET = 'across-gateways-coa-secret';

// Several gateways on one database are a PostgreSQL deployment: SQLite runs one per data directory.
describe('Disconnect-Requests from two gateways on one PostgreSQL database', () => {
  let a: TestGateway;
  let b: TestGateway;
  let nas: TestNas;
  let nasId: string;
  let port = 0;
  const config = { radius: { dynamicAuthorization: { timeoutMs: 200, attempts: 3, pollMs: 50 } } };

  before(async () => {
    nas = await new TestNas(SECRET).start();
    a = await startTestGateway('postgres', 'coa-gateway-a', config);
    b = await startTestGateway('postgres', 'coa-gateway-b', { ...config, vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
    await a.gateway.context.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
    nasId = (await a.gateway.context.network.addNas({ name: 'bng', address: '127.0.0.1/32', secret: SECRET, pool: 'access', coaPort: nas.port })).id;
    await Promise.all([a.gateway.authentication.nas.reload(), b.gateway.authentication.nas.reload()]);
    listen();
  });
  after(async () => {
    await b?.dispose();
    await a?.dispose();
    await nas?.close();
  });

  const session = async (login: string): Promise<string> => {
    const subscriber = await a.gateway.context.subscribers.add({ login, password: `${login}-password` });
    const poolId = (await a.gateway.context.network.listPools())[0]!.id;
    return (await a.gateway.authentication.sessions.authorize({ subscriberId: subscriber.id, login, nasId, poolId, nasPort: ++port, nasPortId: null, nasIdentifier: 'bng', nasIpAddress: '127.0.0.1' })).sessionId;
  };

  /**
   * Every outcome either gateway records, from before the request is made: the command
   * line returns after its commit, and a gateway may send and record before it does.
   */
  const outcomes = new Map<string, { status: string; by: 'a' | 'b' }>();
  const waiters = new Map<string, (o: { status: string; by: 'a' | 'b' }) => void>();
  const listen = (): void => {
    for (const [name, g] of [['a', a], ['b', b]] as const) {
      g.gateway.authentication.dynamicAuthorization.events.on('recorded', (done: string, status: string) => {
        outcomes.set(done, { status, by: name });
        waiters.get(done)?.({ status, by: name });
      });
    }
  };
  /** Resolves with the status and the gateway that recorded request `id`, whichever of the two it is. */
  const recorded = (id: string): Promise<{ status: string; by: 'a' | 'b' }> => {
    const known = outcomes.get(id);
    return known ? Promise.resolve(known) : new Promise((resolve) => waiters.set(id, resolve));
  };

  it('a suspension from the command line is sent once, by the gateway holding the job', async () => {
    const id = await session('kim');
    nas.behaviour = { answer: 'ack' };
    const seen = nas.received.length;
    const r = await runCli(['--data-dir', a.database.dataDir, '--database-url', a.database.databaseUrl!, '--json', 'subscriber', 'suspend', 'kim']);
    assert.equal(r.code, 0, r.stderr);
    const [queued] = (JSON.parse(r.stdout) as { dynamicAuthorizations: DynamicAuthorizationView[] }).dynamicAuthorizations;
    // Queued by the command; a gateway may have claimed it by the time the command reads it back.
    assert.ok(['pending', 'sending', 'ack'].includes(queued!.status), queued!.status);
    assert.equal(queued!.sessionId, id);
    const done = await recorded(queued!.id);
    assert.equal(done.status, 'ack');
    assert.equal(nas.received.length - seen, 1, 'one Disconnect-Request, not one per gateway');
    const holders = (await a.gateway.context.store.db.selectFrom('job_leases').select('holder').where('name', '=', 'dynamic-authorization').execute()).map((l) => l.holder);
    const row = await a.gateway.context.store.db.selectFrom('dynamic_authorizations').select('claimed_by').where('id', '=', queued!.id).executeTakeFirstOrThrow();
    assert.deepEqual([row.claimed_by], holders, 'claimed by the lease holder');
  });

  it('an operator\'s disconnect through one gateway\'s API is sent by that gateway', async () => {
    const id = await session('lou');
    nas.behaviour = { answer: 'ack' };
    for (const [name, g] of [['a', a], ['b', b]] as const) {
      const res = await fetch(`http://${g.gateway.listen.operatorHttp}/v1/sessions/${id}/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${g.token}` } });
      assert.equal(res.status, 202);
      const queued = (await res.json()) as DynamicAuthorizationView;
      const done = await recorded(queued.id);
      assert.equal(done.by, name);
      const row = await g.gateway.context.store.db.selectFrom('dynamic_authorizations').select('claimed_by').where('id', '=', queued.id).executeTakeFirstOrThrow();
      assert.equal(row.claimed_by, g.gateway.authentication.dynamicAuthorization.holder);
    }
  });
});
