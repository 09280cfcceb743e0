import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SessionService, type AccountingFacts } from '../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import type { Tx } from '../../src/store/open-store.ts';
import { capturedLogger } from '../support/captured-logger.ts';
import { testContext, type TestContext } from '../support/contexts.ts';

// On PostgreSQL the group commit keeps several transactions in flight (lanes), each on a
// connection of its own. What it gathered is shared among the lanes that are free: one
// batch of everything would run its statements one after another while the other lanes
// stay idle, and the replies going out together bring the next requests in together.

const txid = async (tx: Tx): Promise<string> => (await sql<{ x: string }>`select txid_current()::text as x`.execute(tx)).rows[0]!.x;
const countBy = (xs: string[]): number[] => [...xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>()).values()].sort((a, b) => a - b);

describe('group commit lanes on postgres', () => {
  let t: TestContext;
  before(async () => {
    t = await testContext('postgres', 'group-commit-lanes');
    await sql`create table lane_probe (id integer primary key)`.execute(t.ctx.store.db);
  });
  after(async () => t?.dispose());

  it('jobs queued together are shared among the free lanes, and every one commits', async () => {
    const commit = new GroupCommit(t.ctx.store.db, { lanes: 4 });
    try {
      const ids = Array.from({ length: 128 }, (_, i) => i);
      const ran = await Promise.all(
        ids.map((id) =>
          commit.run(async (tx) => {
            await sql`insert into lane_probe (id) values (${id})`.execute(tx);
            return txid(tx);
          }),
        ),
      );
      assert.deepEqual(countBy(ran), [32, 32, 32, 32], 'four transactions of 32');
      assert.equal((await sql<{ n: number }>`select count(*)::int as n from lane_probe`.execute(t.ctx.store.db)).rows[0]!.n, 128);
    } finally {
      await commit.close();
    }
  });

  it('while every lane is busy, jobs wait, and go together into the first lane freed', async () => {
    const commit = new GroupCommit(t.ctx.store.db, { lanes: 4 });
    const releases: Array<() => void> = [];
    let started!: () => void;
    let begun = 0;
    const allBegun = new Promise<void>((r) => (started = r));
    // Four jobs at once: one a lane, each held open until released.
    const held = Array.from({ length: 4 }, () =>
      commit.run(async (tx) => {
        const x = await txid(tx);
        await new Promise<void>((r) => {
          releases.push(r);
          if (++begun === 4) started();
        });
        return x;
      }),
    );
    await allBegun;
    const waiting = Array.from({ length: 10 }, () => commit.run(txid));
    // Each job is only queued by the time run() returns; the lanes are all taken.
    await new Promise((r) => setImmediate(r));
    assert.equal(commit.pending, 10, 'all ten wait for a lane');
    releases[0]!();
    const after = await Promise.all(waiting);
    assert.deepEqual(countBy(after), [10], 'the ten in one transaction, in the lane freed');
    for (const release of releases.slice(1)) release();
    const first = await Promise.all(held);
    assert.equal(new Set(first).size, 4, 'the first four, a transaction each');
    assert.equal(first.includes(after[0]!), false);
    await commit.close();
  });

  it('jobs of one affinity gathered together stay in one transaction, in the order queued', async () => {
    const commit = new GroupCommit(t.ctx.store.db, { lanes: 4 });
    try {
      const keys = ['a', 'b', 'a', 'c', undefined, 'd', 'a', 'b', undefined, 'e', 'a', 'f', 'c', undefined, 'a', 'g'];
      const order: string[] = [];
      const ran = await Promise.all(
        keys.map((key, i) =>
          commit.run(async (tx) => {
            order.push(`${key}${i}`);
            return { key, x: await txid(tx) };
          }, key),
        ),
      );
      for (const key of new Set(keys)) if (key) assert.equal(new Set(ran.filter((r) => r.key === key).map((r) => r.x)).size, 1, `every '${key}' in one transaction`);
      assert.ok(new Set(ran.map((r) => r.x)).size > 1, 'still shared among lanes');
      const as = order.filter((o) => o.startsWith('a'));
      assert.deepEqual(as, ['a0', 'a2', 'a6', 'a10', 'a14']);
    } finally {
      await commit.close();
    }
  });

  it("two Stops of each of two prepaid subscribers, sent together, commit without a deadlock between the lanes", async () => {
    // Each Stop locks its session, then charges the subscriber and lowers the grant of the
    // subscriber's other open session (a CoA): in two lanes, two such Stops would deadlock.
    const { logger, lines } = capturedLogger();
    const commit = new GroupCommit(t.ctx.store.db, { lanes: 4, logger });
    try {
      const pool = await t.ctx.network.addPool({ name: 'lanes', cidr: '198.51.100.0/28' });
      const nas = await t.ctx.network.addNas({ name: 'lanes', address: '127.0.0.4', secret: 'lanes-shared-secret-16', pool: 'lanes' });
      const sessions = new SessionService(t.ctx.store, commit, createTestLogger('group-commit-lanes'), 60_000);
      await sessions.rebuild();
      const t0 = Date.now() - 600_000;
      const stops: AccountingFacts[] = [];
      for (const [k, name] of ['prepaid-a', 'prepaid-b'].entries()) {
        const subscriber = await t.ctx.subscribers.add({ login: name, password: `${name}-password`, seconds: 36_000 });
        for (const port of [1, 2].map((p) => p + 10 * k)) {
          const granted = await sessions.authorize({ subscriberId: subscriber.id, login: name, nasId: nas.id, poolId: pool.id, nasPort: port, nasPortId: null, nasIdentifier: null, nasIpAddress: null, sessionTimeout: 36_000, now: t0 });
          const f: AccountingFacts = {
            nasId: nas.id, login: name, classValue: granted.classValue, acctSessionId: `lanes-${port}`, nasIdentifier: null, nasIpAddress: null, nasPort: port, nasPortId: null,
            framedAddress: granted.unit!.address, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
          };
          await sessions.account('start', f, t0 + 1000);
          stops.push({ ...f, sessionTime: 300, terminateCause: 'User-Request' });
        }
      }
      await Promise.all(stops.map((f) => sessions.account('stop', f, t0 + 301_000)));
      assert.deepEqual(lines.filter((l) => l.msg === 'group commit transaction failed').map((l) => l.kind), [], 'no transaction failed (a deadlock is retried, and logged)');
      const left = await t.ctx.store.db.selectFrom('subscribers').select(['login', 'seconds_remaining']).where('login', 'like', 'prepaid-%').orderBy('login').execute();
      assert.deepEqual(left.map((s) => s.seconds_remaining), [36_000 - 600, 36_000 - 600], 'each charged for both sessions, once');
    } finally {
      await commit.close();
    }
  });

  it('one lane (SQLite, or lanes unset) takes everything gathered in one transaction', async () => {
    const commit = new GroupCommit(t.ctx.store.db);
    try {
      const ran = await Promise.all(Array.from({ length: 64 }, () => commit.run(txid)));
      assert.deepEqual(countBy(ran), [64]);
    } finally {
      await commit.close();
    }
  });
});
