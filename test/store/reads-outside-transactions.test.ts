import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DurableWrites } from '../../src/store/durable-writes.ts';
import { PreparedStatement } from '../../src/store/prepared-statement.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

const probe = new PreparedStatement<{ id: number }>('select id from read_probe where id = ?');
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

// On SQLite a prepared read outside a transaction runs on the one connection directly while
// it is idle (prepared-statement.ts, readsDirectlyWhenIdle). That connection is also the
// group commit's: between a batch's statements its uncommitted rows are on it, and a read
// run there then would see them. It must wait for the batch instead, as Kysely's lock made it.
for (const dialect of dialects) {
  describe(`prepared reads outside a transaction on ${dialect}`, () => {
    let t: TestContext;
    before(async () => {
      t = await testContext(dialect, `reads-outside-${dialect}`);
      await sql`create table read_probe (id integer primary key)`.execute(t.ctx.store.db);
    });
    after(async () => t?.dispose());

    it("never see a group commit's rows before its commit, and see them after it", async () => {
      const { db } = t.ctx.store;
      const writes = new DurableWrites(t.ctx.store);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let wrote!: () => void;
      const written = new Promise<void>((r) => (wrote = r));
      const job = writes.run(async (tx) => {
        await sql`insert into read_probe (id) values (1)`.execute(tx);
        wrote();
        // The batch's transaction stays open, its row uncommitted, until released.
        await held;
      });
      await written;
      let seen: number[] | 'pending' = 'pending';
      const reading = probe.all(db, dialect, [1]).then((rows) => (seen = rows.map((r) => Number(r.id))));
      await turns(10);
      assert.notDeepEqual(seen, [1], 'a read outside the transaction saw its uncommitted row');
      release();
      await job;
      await reading;
      assert.deepEqual((await probe.all(db, dialect, [1])).map((r) => Number(r.id)), [1], 'the committed row is read');
      await writes.close();
    });

    it('see what committed outside any transaction at once, on an idle connection', async () => {
      const { db } = t.ctx.store;
      await sql`insert into read_probe (id) values (2)`.execute(db);
      assert.deepEqual((await probe.all(db, dialect, [2])).map((r) => Number(r.id)), [2]);
      assert.deepEqual(await probe.all(db, dialect, [3]), []);
      // A transaction of Kysely's own (not the group commit's) holds the connection too.
      await db.transaction().execute(async (tx) => {
        await sql`insert into read_probe (id) values (3)`.execute(tx);
        let seen: number[] | 'pending' = 'pending';
        void probe.all(db, dialect, [3]).then((rows) => (seen = rows.map((r) => Number(r.id))));
        await turns(10);
        assert.notDeepEqual(seen, [3], "a read outside Kysely's transaction saw its uncommitted row");
      });
      assert.deepEqual((await probe.all(db, dialect, [3])).map((r) => Number(r.id)), [3]);
    });

    it('a write that returns rows takes the lock, even on an idle connection', { skip: dialect !== 'sqlite' && 'one connection is SQLite\'s' }, async () => {
      const { db } = t.ctx.store;
      const insertReturning = new PreparedStatement<{ id: number }>('insert into read_probe (id) values (?) returning id');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      // Kysely's lock, taken without a transaction (as the writer thread's flush takes it).
      const holding = db.connection().execute(() => held);
      await turns(2);
      let done = false;
      const inserting = insertReturning.all(db, dialect, [4]).then(() => (done = true));
      await turns(10);
      assert.equal(done, false, 'the write ran while another held the lock');
      release();
      await holding;
      await inserting;
      assert.deepEqual((await probe.all(db, dialect, [4])).map((r) => Number(r.id)), [4]);
    });
  });
}
