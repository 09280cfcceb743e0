import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { dialects } from '../../support/databases.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const metric = async (t: TestGateway, name: string): Promise<number> => {
  const line = (await t.gateway.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

for (const dialect of dialects) {
  describe(`flow and push times with a clock skew, and destination writes kept after a failure, on ${dialect}`, () => {
    let t: TestGateway;
    const T = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    let first: { id: string; address: string };
    let second: { id: string };
    let cgnat: string;

    before(async () => {
      t = await startTestGateway(dialect, `tracking-skew-${dialect}`, { radius: { holdDownSeconds: 0 }, tracking: { clockSkewSeconds: 2 } });
      const ctx = t.gateway.context;
      const single = await ctx.network.addPool({ name: 'single', cidr: '192.0.2.77/32' });
      const shared = await ctx.network.addPool({ name: 'shared', cidr: '203.0.113.0/30', portsPerBlock: 16128 });
      const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'skew-shared-secret-16', pool: 'single' });
      const a = await ctx.subscribers.add({ login: 'ada', password: 'ada-password' });
      const b = await ctx.subscribers.add({ login: 'bea', password: 'bea-password' });
      const sessions = t.gateway.authentication.sessions;
      const authorize = (subscriberId: string, login: string, poolId: string, now: number) => sessions.authorize({ subscriberId, login, nasId: nas.id, poolId, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });
      // ada holds 192.0.2.77 from T until T+60 s; bea holds it from T+60 s on.
      const ax = await authorize(a.id, 'ada', single.id, T);
      first = { id: ax.sessionId, address: ax.unit!.address };
      const facts = { nasId: nas.id, login: 'ada', classValue: ax.classValue, acctSessionId: 'ada-1', nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: first.address, sessionTime: 60, inputOctets: null, outputOctets: null, terminateCause: 'User-Request' };
      await sessions.stop(facts, T + 60_000);
      const bx = await authorize(b.id, 'bea', single.id, T + 60_000);
      assert.equal(bx.unit!.address, first.address);
      second = { id: bx.sessionId };
      cgnat = (await authorize(a.id, 'ada', shared.id, T)).unit!.address;
    });
    after(async () => t?.dispose());

    const push = async (observations: unknown[]) => {
      const res = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/destinations`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ observations }) });
      assert.equal(res.status, 202);
      return (await res.json()) as { received: number; attributed: number; unattributed: number; unattributedObservations?: Array<{ index: number; reason: string }> };
    };
    const at = (ms: number) => new Date(ms).toISOString();
    const destinationsOf = async (id: string) => ((await t.operator(`/v1/sessions/${id}/destinations`)).body as { data: Array<{ destination: string }> }).data.map((d) => d.destination).sort();

    it('attributes an observation up to tracking.clockSkewSeconds outside a binding when nobody held the address then, and says why the others were not', async () => {
      const r = await push([
        { source: { address: first.address }, destination: '198.51.100.1', at: at(T - 1500) },
        { source: { address: first.address }, destination: '198.51.100.2', at: at(T - 2500) },
        { source: { address: first.address }, destination: '198.51.100.3', at: at(T + 59_000) },
        { source: { address: cgnat }, destination: '198.51.100.4', at: at(T + 1000) },
        { source: { address: first.address }, destination: '198.51.100.5', at: at(Date.now() + 3_600_000) },
      ]);
      assert.deepEqual(r, {
        received: 5, attributed: 2, unattributed: 3,
        unattributedObservations: [{ index: 1, reason: 'no-binding' }, { index: 3, reason: 'port-required' }, { index: 4, reason: 'in-future' }],
      });
      // 1.5 s before ada's binding began: hers. One second before bea's began, ada still held it: ada's, never bea's.
      assert.deepEqual(await destinationsOf(first.id), ['198.51.100.1', '198.51.100.3']);
      assert.deepEqual(await destinationsOf(second.id), []);
    });

    it('keeps destination rows whose write failed, counts the failure, and writes them with the next flush', async () => {
      const tracking = t.gateway.tracking;
      const db = t.gateway.context.store.db;
      await sql`alter table session_destinations rename to session_destinations_away`.execute(db);
      try {
        await push([{ source: { address: first.address }, destination: '198.51.100.9', at: at(T + 30_000) }]);
        for (let i = 0; i < 5 && tracking.pendingWriteCount === 0; i++) await tracking.flush();
        assert.ok(tracking.pendingWriteCount > 0, 'the row is kept, not dropped after a log line');
        assert.ok((await metric(t, 'sideband_destination_write_failures_total')) >= 1);
      } finally {
        await sql`alter table session_destinations_away rename to session_destinations`.execute(db);
      }
      for (let i = 0; i < 5 && tracking.pendingWriteCount > 0; i++) await tracking.flush();
      assert.equal(tracking.pendingWriteCount, 0);
      const row = await db.selectFrom('session_destinations').selectAll().where('session_id', '=', first.id).where('destination', '=', '198.51.100.9').executeTakeFirst();
      assert.ok(row, 'written once the store took it');
    });
  });
}
