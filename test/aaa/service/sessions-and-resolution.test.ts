import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveHolder } from '../../../src/aaa/service/resolution-routes.ts';
import { SessionService } from '../../../src/aaa/service/session-service.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

const facts = (nasId: string, classValue: string | null, extra: Partial<Parameters<SessionService['stop']>[0]> = {}) => ({
  nasId, login: null, classValue, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

for (const dialect of dialects) {
  describe(`sessions, carrier-grade NAT and resolution on ${dialect}`, () => {
    let t: TestContext;
    let sessions: SessionService;
    let commit: GroupCommit;
    let nasId: string;
    let poolId: string;
    const subs: string[] = [];
    const logger = createTestLogger(`sessions-${dialect}`);

    before(async () => {
      t = await testContext(dialect, `sessions-${dialect}`);
      const pool = await t.ctx.network.addPool({ name: 'cgnat', cidr: '203.0.113.0/30', portsPerBlock: 16128 });
      poolId = pool.id;
      nasId = (await t.ctx.network.addNas({ name: 'cgn', address: '127.0.0.1', secret: 'cgn-shared-secret-16', pool: 'cgnat' })).id;
      for (const l of ['s1', 's2', 's3', 's4', 's5']) subs.push((await t.ctx.subscribers.add({ login: l, password: `${l}-password`, seconds: 100 })).id);
      commit = new GroupCommit(t.ctx.store.db);
      sessions = new SessionService(t.ctx.store, commit, logger, 0);
      await sessions.rebuild();
    });
    after(async () => {
      await commit.close();
      await t.dispose();
    });

    const authorize = (i: number, now: number) => sessions.authorize({ subscriberId: subs[i]!, login: `s${i + 1}`, nasId, poolId, nasPort: i, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });

    it('shares one public address among subscribers by port block', async () => {
      const now = Date.now() - 60_000;
      const a = await authorize(0, now);
      const b = await authorize(1, now);
      assert.equal(a.unit!.address, b.unit!.address, 'a /30 has two usable addresses; blocks fill the first one first');
      assert.notEqual(a.unit!.portFirst, b.unit!.portFirst);
      assert.equal(a.unit!.portLast! - a.unit!.portFirst! + 1, 16128);
      const at = now + 1000;
      await assert.rejects(resolveHolder(sessions, t.ctx.store, { address: a.unit!.address, at }), (e: SidebandError) => e.code === 'RESOLVE_PORT_REQUIRED');
      const ra = await resolveHolder(sessions, t.ctx.store, { address: a.unit!.address, port: a.unit!.portFirst! + 5, at });
      const rb = await resolveHolder(sessions, t.ctx.store, { address: b.unit!.address, port: b.unit!.portLast!, at });
      assert.equal(ra.subscriber.login, 's1');
      assert.equal(rb.subscriber.login, 's2');
      await assert.rejects(resolveHolder(sessions, t.ctx.store, { address: a.unit!.address, port: 80, at }), (e: SidebandError) => e.code === 'RESOLVE_NOT_FOUND');
      await assert.rejects(resolveHolder(sessions, t.ctx.store, { address: 'not-an-address', at }), (e: SidebandError) => e.code === 'ADDRESS_INVALID');
    });

    it('a restarted gateway rebuilds the same answers and the same pool state from the store', async () => {
      const fresh = new SessionService(t.ctx.store, commit, logger, 0);
      const rebuilt = await fresh.rebuild();
      assert.equal(rebuilt.openSessions, 2);
      const open = await t.ctx.store.db.selectFrom('bindings').selectAll().where('end_at', 'is', null).execute();
      for (const b of open) {
        const r = await resolveHolder(fresh, t.ctx.store, { address: b.address, port: b.port_first!, at: Date.now() });
        assert.equal(r.binding.id, b.id);
      }
      assert.deepEqual(fresh.poolUsage(), sessions.poolUsage());
    });

    it('closes sessions whose NAS went silent, charges only what the NAS reported up to Session-Timeout, and frees their blocks', async () => {
      const s3 = await authorize(2, Date.now() - 30_000);
      await sessions.start(facts(nasId, s3.classValue, { acctSessionId: 'x3' }), Date.now() - 30_000);
      await sessions.interim(facts(nasId, s3.classValue, { acctSessionId: 'x3', sessionTime: 25 }), Date.now() - 5_000 - 15_000);
      // Granted 10 s, reported 40: the NAS would have ended it at 10.
      const s4 = await sessions.authorize({ subscriberId: subs[3]!, login: 's4', nasId, poolId, nasPort: 3, nasPortId: null, nasIdentifier: null, nasIpAddress: null, sessionTimeout: 10, now: Date.now() - 60_000 });
      await sessions.interim(facts(nasId, s4.classValue, { acctSessionId: 'x4', sessionTime: 40 }), Date.now() - 20_000);
      const closed = await sessions.sweep(10_000);
      assert.equal(closed, 4);
      const rows = await t.ctx.store.db.selectFrom('sessions').select(['id', 'status', 'terminate_cause', 'closed_by']).execute();
      assert.ok(rows.every((r) => r.status === 'closed' && r.closed_by === 'sweeper'));
      const cause = (id: string) => rows.find((r) => r.id === id)!.terminate_cause;
      assert.equal(cause(s3.sessionId), 'Sideband-Stale (charged 25 s: the last reported session time)');
      assert.equal(cause(s4.sessionId), 'Sideband-Stale (charged 10 s: the Session-Timeout)');
      assert.ok(rows.filter((r) => r.id !== s3.sessionId && r.id !== s4.sessionId).every((r) => r.terminate_cause === 'Sideband-Stale (charged 0 s: no session time reported)'));
      assert.equal(sessions.poolUsage()[0]!.held, 0);
      assert.equal((await t.ctx.subscribers.show('s3')).secondsRemaining, 100 - 25, 'charged what the NAS reported, not the time since Start');
      assert.equal((await t.ctx.subscribers.show('s4')).secondsRemaining, 100 - 10);
      assert.equal((await t.ctx.subscribers.show('s1')).secondsRemaining, 100, 'nothing reported, nothing charged');
    });

    it('a log-in retried through another gateway on the same database gets the same unstarted authorization back', async () => {
      const other = new SessionService(t.ctx.store, commit, logger, 0);
      await other.rebuild();
      const first = await authorize(4, Date.now());
      const again = await other.authorize({ subscriberId: subs[4]!, login: 's5', nasId, poolId, nasPort: 4, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: Date.now() });
      assert.deepEqual([again.sessionId, again.unit, again.reused], [first.sessionId, first.unit, true]);
      const pending = await t.ctx.store.db.selectFrom('sessions').select('id').where('subscriber_id', '=', subs[4]!).where('status', '=', 'authorized').execute();
      assert.equal(pending.length, 1);
      assert.equal(other.poolUsage()[0]!.held, 1, 'the other gateway holds no unit for the retry');
    });
  });
}
