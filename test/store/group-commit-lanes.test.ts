import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { GroupCommit } from '../../src/store/group-commit.ts';
import type { Tx } from '../../src/store/open-store.ts';
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
