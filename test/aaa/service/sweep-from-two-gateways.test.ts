import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionService } from '../../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

// The stale-session sweep and Accounting-On find open sessions through the partial index
// of migration 0022. Two gateways on one database, each with its own group commit, run
// them at once over the same sessions: each session must be closed once and its prepaid
// time charged once.

const SUBSCRIBERS = 6;

for (const dialect of dialects) {
  describe(`the stale-session sweep and Accounting-On from two gateways at once on ${dialect}`, () => {
    let t: TestContext;
    let nasId: string;
    let poolId: string;
    const commits: GroupCommit[] = [];
    const gateways: SessionService[] = [];
    const logins: string[] = [];
    const subs: string[] = [];

    before(async () => {
      t = await testContext(dialect, `sweep-two-${dialect}`);
      poolId = (await t.ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/24' })).id;
      nasId = (await t.ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'sweep-shared-secret-16', pool: 'access' })).id;
      for (let i = 0; i < SUBSCRIBERS; i++) {
        logins.push(`sweep-${i}`);
        subs.push((await t.ctx.subscribers.add({ login: logins[i]!, password: `sweep-${i}-password`, seconds: 1000 })).id);
      }
      for (const name of ['a', 'b']) {
        const commit = new GroupCommit(t.ctx.store.db);
        commits.push(commit);
        const s = new SessionService(t.ctx.store, commit, createTestLogger(`sweep-two-${dialect}-${name}`), 0);
        await s.rebuild();
        gateways.push(s);
      }
    });
    after(async () => {
      for (const c of commits) await c.close();
      await t.dispose();
    });

    /** Opens a session for each subscriber on gateway a, each reporting `reported` seconds, last heard `silentMs` ago. */
    async function openSessions(reported: number, silentMs: number, first: number): Promise<string[]> {
      const [a] = gateways;
      const ids: string[] = [];
      for (let i = 0; i < SUBSCRIBERS; i++) {
        const now = Date.now() - silentMs - 60_000;
        const s = await a!.authorize({ subscriberId: subs[i]!, login: logins[i]!, nasId, poolId, nasPort: first + i, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });
        const facts = { nasId, login: null, classValue: s.classValue, acctSessionId: `sweep-${first + i}`, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null };
        await a!.start(facts, now);
        await a!.interim({ ...facts, sessionTime: reported }, Date.now() - silentMs);
        ids.push(s.sessionId);
      }
      return ids;
    }

    const seconds = async () => Promise.all(logins.map(async (l) => (await t.ctx.subscribers.show(l)).secondsRemaining));
    const rows = (ids: string[]) => t.ctx.store.db.selectFrom('sessions').select(['id', 'status', 'closed_by']).where('id', 'in', ids).execute();

    it('a sweep run by both at once closes each stale session once and charges it once', async () => {
      const ids = await openSessions(30, 20_000, 0);
      const before = await seconds();
      const closed = await Promise.all(gateways.map((g) => g.sweep(10_000)));
      assert.equal(closed[0]! + closed[1]!, SUBSCRIBERS, `closed by a and b: ${closed.join(', ')}`);
      assert.ok((await rows(ids)).every((r) => r.status === 'closed' && r.closed_by === 'sweeper'));
      assert.deepEqual(await seconds(), before.map((s) => s! - 30));
      assert.deepEqual(await Promise.all(gateways.map((g) => g.sweep(10_000))), [0, 0], 'nothing left to close');
    });

    it("an Accounting-On handled by both at once closes each of the NAS's sessions once and charges it once", async () => {
      const ids = await openSessions(12, 0, 100);
      const before = await seconds();
      const closed = await Promise.all(gateways.map((g) => g.closeAllOf(nasId, 'NAS-Reboot')));
      assert.equal(closed[0]! + closed[1]!, SUBSCRIBERS, `closed by a and b: ${closed.join(', ')}`);
      assert.ok((await rows(ids)).every((r) => r.status === 'closed' && r.closed_by === 'nas-restart'));
      assert.deepEqual(await seconds(), before.map((s) => s! - 12));
    });
  });
}
