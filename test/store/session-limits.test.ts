import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SessionService, type AccountingFacts } from '../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { failureKind } from '../../src/store/failure-kind.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { Migrator } from 'kysely';
import { SidebandMigrations } from '../../src/store/migrations/index.ts';
import { migrateStore, openStore, type Store } from '../../src/store/open-store.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { throwawayDatabase } from '../support/databases.ts';

// The limits every PostgreSQL session of a gateway runs under (open-store.ts): a lock wait
// ends after lock_timeout, a session idle in a transaction is ended by the server. What
// each must leave behind: no crash, memory in step with the store, a setting the operator
// made left alone. Several gateways on one database are a PostgreSQL deployment.

const facts = (nasId: string, extra: Partial<AccountingFacts> = {}): AccountingFacts => ({
  nasId, login: null, classValue: null, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

/** Runs `body` while another transaction holds `rows` of `table` locked, as a stuck gateway would. */
async function whileLocked<T>(t: TestContext, table: 'sessions' | 'subscribers', ids: string[], body: () => Promise<T>): Promise<T> {
  let release!: () => void;
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const other = t.ctx.store.db.transaction().execute(async (tx) => {
    await tx.selectFrom(table).select('id').where('id', 'in', ids).forUpdate().execute();
    locked();
    await new Promise<void>((r) => (release = r));
  });
  await holding;
  try {
    return await body();
  } finally {
    release();
    await other;
  }
}

describe('a gateway\'s PostgreSQL session limits', () => {
  let t: TestContext;
  let commit: GroupCommit;
  const logger = createTestLogger('session-limits');
  before(async () => {
    t = await testContext('postgres', 'session-limits');
    commit = new GroupCommit(t.ctx.store.db);
  });
  after(async () => {
    await commit.close();
    await t.dispose();
  });

  it('are 5 s for a lock and 30 s idle in a transaction', async () => {
    const { rows } = await sql<{ a: string; b: string }>`select current_setting('lock_timeout') a, current_setting('idle_in_transaction_session_timeout') b`.execute(t.ctx.store.db);
    assert.deepEqual(rows, [{ a: '5s', b: '30s' }]);
  });

  it('Accounting-On meeting a session another gateway holds locked: the others are closed, in the store and in memory', async () => {
    const nasId = (await t.ctx.network.addNas({ name: 'rebooting', address: '127.0.0.10', secret: 'rebooting-shared-secret' })).id;
    const s = new SessionService(t.ctx.store, commit, logger, 60_000);
    await s.rebuild();
    const t0 = Date.now() - 60_000;
    const a = await s.start(facts(nasId, { login: 'one', acctSessionId: 'a1', framedAddress: '198.51.100.21' }), t0);
    const b = await s.start(facts(nasId, { login: 'two', acctSessionId: 'a2', framedAddress: '198.51.100.22' }), t0);
    const closing = await whileLocked(t, 'sessions', [b], () => s.closeAllOf(nasId, 'NAS-Reboot', Date.now()).then(() => 'closed', (e: unknown) => failureKind(e)));
    assert.equal(closing, 'lock-timeout', 'the locked one is reported');
    const status = Object.fromEntries((await t.ctx.store.db.selectFrom('sessions').select(['id', 'status']).where('nas_id', '=', nasId).execute()).map((r) => [r.id, r.status]));
    assert.deepEqual([status[a], status[b]], ['closed', 'active']);
    assert.equal(s.holderOf('198.51.100.21'), undefined, 'memory follows the close that committed');
    assert.equal(s.holderOf('198.51.100.22'), b);
    // The NAS sends Accounting-On again: the rest is closed.
    await s.closeAllOf(nasId, 'NAS-Reboot', Date.now());
    assert.equal(s.holderOf('198.51.100.22'), undefined);
  });

  it('a migration meeting a table another session holds waits 10 s at a time, tries again, and lands once it is free', async () => {
    const database = await throwawayDatabase('postgres');
    const store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl, verifySchema: false });
    try {
      // A database from before 0024 (which alters the sessions table), that table read by a long query (a pg_dump).
      const migrator = new Migrator({ db: store.db, provider: new SidebandMigrations('postgres') });
      const previous = '0023-call-records-newest';
      const pending = Object.keys(await new SidebandMigrations('postgres').getMigrations()).sort().filter((name) => name > previous);
      assert.equal((await migrator.migrateTo(previous)).error, undefined);
      let release!: () => void;
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const dump = store.db.transaction().execute(async (tx) => {
        await sql`lock table sessions in access share mode`.execute(tx);
        holding();
        await new Promise<void>((r) => (release = r));
      });
      await held;
      const began = Date.now();
      const migrating = migrateStore(store);
      // Past the first attempt's lock wait, the dump ends.
      setTimeout(release, 11_000);
      assert.deepEqual(await migrating, pending);
      assert.ok(Date.now() - began >= 10_000, 'it waited for the table');
      await dump;
    } finally {
      await store.db.destroy();
      await database.drop();
    }
  });

  describe('set by the operator on the database', () => {
    let store: Store;
    before(async () => {
      const name = t.database.name!;
      await sql.raw(`alter database "${name}" set idle_in_transaction_session_timeout = '1s'`).execute(t.ctx.store.db);
      store = await openStore({ dataDir: t.database.dataDir, databaseUrl: t.database.databaseUrl });
    });
    after(async () => store?.db.destroy());

    it('are left as they are', async () => {
      const { rows } = await sql<{ b: string }>`select current_setting('idle_in_transaction_session_timeout') b`.execute(store.db);
      assert.deepEqual(rows, [{ b: '1s' }]);
    });

    it('a transaction the server ends for idling fails as a lost connection, and the process goes on', async () => {
      const failed = await store.db
        .transaction()
        .execute(async (tx) => {
          await sql`select 1`.execute(tx);
          // Idle past the server's limit: it ends the session between two statements.
          await new Promise((r) => setTimeout(r, 1500));
          await sql`select 1`.execute(tx);
        })
        .then(() => 'committed', (e: unknown) => failureKind(e));
      assert.equal(failed, 'connection');
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      assert.equal(rows[0]!.one, 1, 'the pool serves the next query');
    });
  });
});
