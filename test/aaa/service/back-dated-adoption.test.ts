import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionService } from '../../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

const facts = (nasId: string, classValue: string | null, extra: Partial<Parameters<SessionService['stop']>[0]> = {}) => ({
  nasId, login: null, classValue, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

for (const dialect of dialects) {
  describe(`a session adopted from back-dated accounting on ${dialect}`, () => {
    let t: TestContext;
    let sessions: SessionService;
    let commit: GroupCommit;
    let nasId: string;
    let poolId: string;
    const subs: string[] = [];

    before(async () => {
      t = await testContext(dialect, `back-dated-adoption-${dialect}`);
      poolId = (await t.ctx.network.addPool({ name: 'small', cidr: '192.0.2.0/29' })).id;
      nasId = (await t.ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'bng-shared-secret-16', pool: 'small' })).id;
      for (const l of ['kim', 'lou']) subs.push((await t.ctx.subscribers.add({ login: l, password: `${l}-password` })).id);
      commit = new GroupCommit(t.ctx.store.db);
      sessions = new SessionService(t.ctx.store, commit, createTestLogger(`back-dated-adoption-${dialect}`), 0);
      await sessions.rebuild();
    });
    after(async () => {
      await commit.close();
      await t.dispose();
    });

    /** A session of ours on the address it is given, from `from` to `until`. */
    const heldAndClosed = async (i: number, acctSessionId: string, from: number, until: number): Promise<{ sessionId: string; address: string }> => {
      const a = await sessions.authorize({ subscriberId: subs[i]!, login: ['kim', 'lou'][i]!, nasId, poolId, nasPort: i, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: from });
      await sessions.start(facts(nasId, a.classValue, { acctSessionId }), from);
      await sessions.stop(facts(nasId, a.classValue, { acctSessionId, sessionTime: Math.round((until - from) / 1000) }), until);
      return { sessionId: a.sessionId, address: a.unit!.address };
    };

    /** Every two bindings of `address` that share an instant. */
    const overlaps = async (address: string): Promise<string[]> => {
      const rows = await t.ctx.store.db.selectFrom('bindings').select(['session_id', 'start_at', 'end_at']).where('address', '=', address).orderBy('start_at').execute();
      const found: string[] = [];
      for (const a of rows) for (const b of rows) if (a !== b && a.start_at < b.start_at && (a.end_at === null || a.end_at > b.start_at)) found.push(`${a.session_id} [${a.start_at}, ${a.end_at}) and ${b.session_id} from ${b.start_at}`);
      return found;
    };

    it('an Interim-Update without Start dated back into a hold that has ended binds the address only from that hold\'s end', async () => {
      const now = Date.now();
      const kim = await heldAndClosed(0, 'kim-1', now - 60_000, now - 10_000);
      // Acct-Session-Time 40 s: the NAS says this session began 40 s ago, while kim still held the address.
      const outcome = await sessions.account('interim', facts(nasId, null, { acctSessionId: 'ghost-1', framedAddress: kim.address, sessionTime: 40 }), now);
      assert.equal(outcome.anomaly, 'interim-without-start');
      assert.deepEqual(await overlaps(kim.address), [], 'no instant has two holders');
      const adopted = await t.ctx.store.db.selectFrom('sessions').select('started_at').where('id', '=', outcome.sessionId).executeTakeFirstOrThrow();
      assert.equal(adopted.started_at, now - 40_000, 'the session keeps the start the NAS reported');
      const binding = await t.ctx.store.db.selectFrom('bindings').select(['start_at', 'end_at']).where('session_id', '=', outcome.sessionId).executeTakeFirstOrThrow();
      assert.deepEqual([binding.start_at, binding.end_at], [now - 10_000, null]);
      assert.equal(sessions.resolve(kim.address, now - 20_000)?.sessionId, kim.sessionId, 'before kim\'s Stop the address is still kim\'s');
      assert.equal(sessions.resolve(kim.address, now - 5_000)?.sessionId, outcome.sessionId);
      // What the store answers after a restart is the same.
      const fresh = new SessionService(t.ctx.store, commit, createTestLogger(`back-dated-adoption-${dialect}`), 0);
      await fresh.rebuild();
      assert.equal(fresh.resolve(kim.address, now - 20_000)?.sessionId, kim.sessionId);
      await sessions.account('stop', facts(nasId, null, { acctSessionId: 'ghost-1', framedAddress: kim.address, sessionTime: 41 }), now + 1000);
    });

    it('so does a delayed Start dated before the end of another session\'s hold', async () => {
      const now = Date.now() + 10_000;
      const lou = await heldAndClosed(1, 'lou-1', now - 30_000, now - 5_000);
      const outcome = await sessions.account('start', facts(nasId, null, { acctSessionId: 'ghost-2', framedAddress: lou.address }), now - 20_000, now);
      assert.deepEqual(await overlaps(lou.address), []);
      assert.equal(sessions.resolve(lou.address, now - 10_000)?.sessionId, lou.sessionId);
      assert.equal(sessions.resolve(lou.address, now - 1_000)?.sessionId, outcome.sessionId);
    });
  });
}
