import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SessionService, type AccountingFacts } from '../../../src/aaa/service/session-service.ts';
import { lockSession } from '../../../src/aaa/service/session-rows.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import type { Tx } from '../../../src/store/open-store.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

// Every accounting change reads its session with lockSession: on PostgreSQL one call of
// sideband_session_for_change (migrations 0025, 0026), which locks the row (after a prepaid
// subscriber's, for a change that may charge) and then reads the latest binding and the prefixes. It must return what plain selects return, and, having
// waited for another transaction's lock, what that transaction committed.

const facts = (nasId: string, extra: Partial<AccountingFacts> = {}): AccountingFacts => ({
  nasId, login: null, classValue: null, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

for (const dialect of dialects) {
  describe(`a session read for change, on ${dialect}`, () => {
    let t: TestContext;
    let commit: GroupCommit;
    let sessions: SessionService;
    let nasId: string;
    let n = 0;

    before(async () => {
      t = await testContext(dialect, `session-read-for-change-${dialect}`);
      nasId = (await t.ctx.network.addNas({ name: 'own', address: '127.0.0.3', secret: 'own-shared-secret-16' })).id;
      commit = new GroupCommit(t.ctx.store.db);
      sessions = new SessionService(t.ctx.store, commit, createTestLogger(`session-read-for-change-${dialect}`), 60_000, { addressConflict: 'trust-nas' });
      await sessions.rebuild();
    });
    after(async () => {
      await commit.close();
      await t.dispose();
    });

    /** A session that moved from one address to another (two bindings), with two IPv6 prefixes written beside it. */
    const movedSession = async (): Promise<string> => {
      const login = `reader-${n++}`;
      await t.ctx.subscribers.add({ login, password: `${login}-password`, seconds: 36_000 });
      const t0 = Date.now() - 3_600_000;
      const start = facts(nasId, { login, acctSessionId: `read-${login}`, framedAddress: `198.51.100.${n}`, nasPort: 2 ** 40, inputOctets: 2 ** 33 });
      const { sessionId } = await sessions.account('start', start, t0);
      await sessions.account('interim', { ...start, framedAddress: `203.0.113.${n}`, sessionTime: 60, inputOctets: 2 ** 33 + 5 }, t0 + 60_000);
      const prefix = (id: string, network: string, length: number, kind: 'framed-ipv6-prefix' | 'delegated-ipv6-prefix', start_at: number, end_at: number | null) =>
        ({ id: `${id}-${n}`, session_id: sessionId, kind, network: network.replace('N', n.toString(16)), prefix_length: length, start_at, end_at, open_key: end_at === null ? `${network}/${length}-${n}` : null });
      // Written newest first: the read orders them by start.
      await t.ctx.store.db.insertInto('prefix_bindings').values(prefix('pfx-b', '2001:db8:N:100::', 56, 'delegated-ipv6-prefix', t0 + 30_000, null)).execute();
      await t.ctx.store.db.insertInto('prefix_bindings').values(prefix('pfx-a', '2001:db8:N::', 64, 'framed-ipv6-prefix', t0, t0 + 20_000)).execute();
      return sessionId;
    };

    const plainly = async (db: Tx | TestContext['ctx']['store']['db'], id: string) => ({
      row: await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
      binding: await db.selectFrom('bindings').selectAll().where('session_id', '=', id).orderBy('start_at', 'desc').limit(1).executeTakeFirst(),
      prefixes: await db.selectFrom('prefix_bindings').selectAll().where('session_id', '=', id).orderBy('start_at').execute(),
    });

    it('returns the row, the latest binding and the prefixes as plain selects do, every column of the same type', async () => {
      const id = await movedSession();
      const expected = await plainly(t.ctx.store.db, id);
      assert.equal(expected.prefixes.length, 2);
      assert.equal(expected.binding?.address.startsWith('203.0.113.'), true, 'the binding after the move');
      for (const charging of [false, true]) {
        const read = await t.ctx.store.db.transaction().execute((tx) => lockSession(tx, dialect, id, charging));
        assert.equal(typeof read?.row.nas_port, 'number', 'bigint columns are numbers');
        assert.deepEqual(read, expected);
      }
    });

    it('returns nothing for a session nobody has', async () => {
      for (const charging of [false, true]) assert.equal(await t.ctx.store.db.transaction().execute((tx) => lockSession(tx, dialect, 'ses-nobody', charging)), undefined);
    });

    it('a session with no binding and no prefix: the row alone', async () => {
      const login = `reader-${n++}`;
      const { sessionId } = await sessions.account('start', facts(nasId, { login, acctSessionId: `bare-${login}` }), Date.now());
      const read = await t.ctx.store.db.transaction().execute((tx) => lockSession(tx, dialect, sessionId, true));
      assert.deepEqual(read, { ...(await plainly(t.ctx.store.db, sessionId)), binding: undefined, prefixes: [] });
    });

    if (dialect === 'postgres') {
      it('having waited for another transaction holding the lock, reads the binding and prefix it committed', async () => {
        const id = await movedSession();
        const db = t.ctx.store.db;
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const at = Date.now();
        const first = db.transaction().execute(async (tx) => {
          const s = (await lockSession(tx, 'postgres', id, true))!;
          // As an address change does: the binding ended, the next one begun, and a prefix bound.
          await tx.updateTable('bindings').set({ end_at: at, open_key: null }).where('id', '=', s.binding!.id).execute();
          await tx.insertInto('bindings').values({ id: `bnd-next-${n}`, session_id: id, address: `192.0.2.${n}`, port_first: null, port_last: null, start_at: at, end_at: null, open_key: `192.0.2.${n}` }).execute();
          await tx.insertInto('prefix_bindings').values({ id: `pfx-next-${n}`, session_id: id, kind: 'framed-ipv6-prefix', network: `2001:db8:ff${n.toString(16)}::`, prefix_length: 64, start_at: at, end_at: null, open_key: `next-${n}` }).execute();
          await tx.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
          holding();
          await released;
        });
        await held;
        const second = db.transaction().execute((tx) => lockSession(tx, 'postgres', id, true));
        // Released only once the second is waiting for the lock, so that its read follows the wait.
        for (;;) {
          const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
          if (waiting.rows[0]!.n > 0) break;
          await new Promise((r) => setImmediate(r));
        }
        release();
        await first;
        const read = await second;
        assert.equal(read?.binding?.id, `bnd-next-${n}`, 'the binding begun by the transaction it waited for');
        assert.equal(read?.row.last_seen_at, at);
        assert.deepEqual(read?.prefixes.map((p) => p.id), [`pfx-a-${n}`, `pfx-b-${n}`, `pfx-next-${n}`]);
        assert.deepEqual(read, await plainly(db, id));
      });

      it("a change that may charge holds the prepaid subscriber's row before the session's; one that may not leaves it free", async () => {
        const id = await movedSession();
        const db = t.ctx.store.db;
        const { subscriber_id: subscriberId } = await db.selectFrom('sessions').select('subscriber_id').where('id', '=', id).executeTakeFirstOrThrow();
        for (const charging of [true, false]) {
          let holding!: () => void;
          const held = new Promise<void>((r) => (holding = r));
          let release!: () => void;
          const released = new Promise<void>((r) => (release = r));
          const first = db.transaction().execute(async (tx) => {
            await lockSession(tx, 'postgres', id, charging);
            holding();
            await released;
          });
          await held;
          // The lock a charge or a purchase takes on the subscriber, asked for without waiting.
          const taken = db.transaction().execute((tx) => sql`select 1 from subscribers where id = ${subscriberId} for no key update nowait`.execute(tx));
          if (charging) await assert.rejects(taken, (e: { code?: string }) => e.code === '55P03', 'held by the change that may charge');
          else await taken;
          release();
          await first;
        }
      });
    }
  });
}
