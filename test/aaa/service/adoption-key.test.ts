import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { adoptionKeyOf } from '../../../src/aaa/service/adopt-session.ts';
import { SessionService, type AccountingFacts } from '../../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { failureKind } from '../../../src/store/failure-kind.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

// A session nobody authenticated is adopted under a unique key of its NAS, Acct-Session-Id
// and login (adopt-session.ts), so that one NAS session reported twice at the same moment
// (a NAS failing over between gateways) is recorded and charged once. Two gateways on one
// PostgreSQL database are in two-gateways-one-database.test.ts; here two services on one
// store meet in one group commit, and the key passes to a NAS's next session with a reused id.

const facts = (nasId: string, extra: Partial<AccountingFacts> = {}): AccountingFacts => ({
  nasId, login: null, classValue: null, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

for (const dialect of dialects) {
  describe(`adopting a session under its NAS's key, on ${dialect}`, () => {
    let t: TestContext;
    let commit: GroupCommit;
    let nasId: string;
    let n = 0;
    const logger = createTestLogger(`adoption-key-${dialect}`);
    const subscriber = async (seconds = 36_000) => {
      const login = `adopted-${n++}`;
      await t.ctx.subscribers.add({ login, password: `${login}-password`, seconds });
      return login;
    };
    // Two services on one group commit meet in one transaction; on their own (as two
    // gateways are), in two transactions at once — on SQLite one after the other.
    let other: GroupCommit;
    const sessions = async (policy: 'trust-nas' | 'refuse' = 'trust-nas', on = commit) => {
      const s = new SessionService(t.ctx.store, on, logger, 60_000, { addressConflict: policy });
      await s.rebuild();
      return s;
    };
    const rowsOf = (acctSessionId: string) =>
      t.ctx.store.db.selectFrom('sessions').select(['id', 'status', 'started_at', 'ended_at', 'charged_seconds', 'adoption_key']).where('nas_id', '=', nasId).where('acct_session_id', '=', acctSessionId).orderBy('started_at').execute();
    const secondsLeft = async (login: string) => (await t.ctx.store.db.selectFrom('subscribers').select('seconds_remaining').where('login', '=', login).executeTakeFirstOrThrow()).seconds_remaining;

    before(async () => {
      t = await testContext(dialect, `adoption-key-${dialect}`);
      nasId = (await t.ctx.network.addNas({ name: 'own', address: '127.0.0.3', secret: 'own-shared-secret-16' })).id;
      commit = new GroupCommit(t.ctx.store.db);
      other = new GroupCommit(t.ctx.store.db);
    });
    after(async () => {
      await other.close();
      await commit.close();
      await t.dispose();
    });

    it('one Stop reported to two services at once, both finding no session, is recorded and charged once', async () => {
      for (const on of [commit, other]) await oneStopTwice(await sessions(), await sessions('trust-nas', on));
    });
    it('an open session\'s Stop reported to two services at once, again later, and an Interim after it: closed and charged once, its address freed once', async () => {
      // The change path (lockSession, then writeChange: on PostgreSQL the second transaction
      // waits for the first's lock and must read what it committed), not the adoption's.
      for (const on of [commit, other]) {
        const [a, b] = [await sessions(), await sessions('trust-nas', on)];
        const t0 = Date.now() - 3_600_000;
        const login = await subscriber();
        const address = `198.51.100.${n}`;
        const start = facts(nasId, { login, acctSessionId: `open-${login}`, framedAddress: address });
        await a.account('start', start, t0);
        const stop = { ...start, sessionTime: 900, inputOctets: 10, outputOctets: 20, terminateCause: 'User-Request' };
        const [x, y] = await Promise.all([a.account('stop', stop, t0 + 900_000), b.account('stop', stop, t0 + 900_000)]);
        assert.equal(x.sessionId, y.sessionId);
        await b.account('stop', stop, t0 + 900_000);
        await a.account('interim', { ...start, sessionTime: 950, inputOctets: 99 }, t0 + 950_000);
        const rows = await rowsOf(`open-${login}`);
        assert.equal(rows.length, 1, 'one session');
        assert.equal(rows[0]!.status, 'closed');
        assert.equal(rows[0]!.charged_seconds, 900);
        assert.equal(await secondsLeft(login), 36_000 - 900, 'charged once');
        const open = await t.ctx.store.db.selectFrom('bindings').select('id').where('session_id', '=', x.sessionId).where('end_at', 'is', null).execute();
        assert.equal(open.length, 0, 'its binding ended');
        const input = await t.ctx.store.db.selectFrom('sessions').select('input_octets').where('id', '=', x.sessionId).executeTakeFirstOrThrow();
        assert.equal(input.input_octets, 10, 'a late Interim changes a closed session nothing');
      }
    });
    const oneStopTwice = async (a: SessionService, b: SessionService) => {
      const t0 = Date.now() - 3_600_000;
      for (let i = 0; i < 6; i++) {
        const login = await subscriber();
        const stop = facts(nasId, { login, acctSessionId: `twice-${login}`, framedAddress: `203.0.113.${10 + i}`, sessionTime: 600, terminateCause: 'User-Request' });
        // The copies are dated by their arrival, a fraction of a second apart.
        const [x, y] = await Promise.all([a.account('stop', stop, t0 + 600_000), b.account('stop', stop, t0 + 600_000 + i * 150)]);
        assert.equal(x.sessionId, y.sessionId, 'both answer for one session');
        const rows = await rowsOf(`twice-${login}`);
        assert.equal(rows.length, 1, 'recorded once');
        assert.equal(rows[0]!.charged_seconds, 600);
        assert.equal(await secondsLeft(login), 36_000 - 600, 'charged once');
      }
    };

    it('one Start reported to two services at once: one open session, holding its address once', async () => {
      const [a, b] = [await sessions(), await sessions('trust-nas', other)];
      const login = await subscriber();
      const t0 = Date.now() - 60_000;
      const start = facts(nasId, { login, acctSessionId: 'both-start', framedAddress: '203.0.113.40' });
      const [x, y] = await Promise.all([a.account('start', start, t0), b.account('start', start, t0 + 400)]);
      assert.equal(x.sessionId, y.sessionId);
      const rows = await rowsOf('both-start');
      assert.deepEqual(rows.map((r) => r.status), ['active']);
      const held = await t.ctx.store.db.selectFrom('bindings').select('session_id').where('address', '=', '203.0.113.40').execute();
      assert.deepEqual(held.map((h) => h.session_id), [x.sessionId]);
      await a.account('stop', { ...start, sessionTime: 60, terminateCause: 'User-Request' }, t0 + 60_000);
      assert.equal(await secondsLeft(login), 36_000 - 60);
    });

    it('two NAS sessions starting on one address at two services at once: both answered, one holds it', async () => {
      for (const policy of ['trust-nas', 'refuse'] as const) {
        const [a, b] = [await sessions(policy), await sessions(policy, other)];
        const [alice, bob] = [await subscriber(), await subscriber()];
        const t0 = Date.now() - 60_000;
        const address = policy === 'trust-nas' ? '203.0.113.70' : '203.0.113.71';
        const [x, y] = await Promise.all([
          a.account('start', facts(nasId, { login: alice, acctSessionId: `claim-${policy}-a`, framedAddress: address }), t0),
          b.account('start', facts(nasId, { login: bob, acctSessionId: `claim-${policy}-b`, framedAddress: address }), t0 + 200),
        ]);
        assert.notEqual(x.sessionId, y.sessionId);
        const held = await t.ctx.store.db.selectFrom('bindings').select(['session_id', 'start_at', 'end_at']).where('address', '=', address).orderBy('start_at').execute();
        assert.equal(held.filter((h) => h.end_at === null).length, 1, `one open binding: ${JSON.stringify(held)}`);
        for (let k = 1; k < held.length; k++) assert.ok(held[k]!.start_at >= held[k - 1]!.end_at!, `held by two at once: ${JSON.stringify(held)}`);
        assert.ok([x, y].some((o) => o.conflict !== null), 'the conflict is recorded');
      }
    });

    it('many sessions reported to two services in opposite orders at once: each recorded and charged once, none refused', async () => {
      const [a, b] = [await sessions('trust-nas'), await sessions('trust-nas', other)];
      const t0 = Date.now() - 3_600_000;
      const logins: string[] = [];
      for (let i = 0; i < 40; i++) logins.push(await subscriber());
      const stop = (login: string, i: number) => facts(nasId, { login, acctSessionId: `crossed-${login}`, framedAddress: `198.51.100.${10 + i}`, sessionTime: 300, terminateCause: 'User-Request' });
      // Batches that take the keys in opposite orders wait on each other: PostgreSQL breaks
      // the deadlock and the group commit runs the loser again, which then finds the sessions.
      const answers = await Promise.allSettled([
        ...logins.map((login, i) => a.account('stop', stop(login, i), t0 + 300_000)),
        ...logins.map((login, i) => logins.length - 1 - i).map((i) => b.account('stop', stop(logins[i]!, i), t0 + 300_500)),
      ]);
      assert.deepEqual(answers.filter((x) => x.status === 'rejected').map((x) => String((x as PromiseRejectedResult).reason)), [], 'every report answered');
      for (const login of logins) {
        assert.equal((await rowsOf(`crossed-${login}`)).length, 1, `${login} recorded once`);
        assert.equal(await secondsLeft(login), 36_000 - 300, `${login} charged once`);
      }
    });

    it('copies of one Stop dated seconds apart (a NAS resending to the other gateway after its timeout): recorded and charged once, whichever lands first', async () => {
      const [a, b] = [await sessions(), await sessions('trust-nas', other)];
      const t1 = Date.now() - 600_000;
      for (const order of ['concurrent', 'later copy first', 'earlier copy first'] as const) {
        for (const sessionTime of [600, 2, 0]) {
          const login = await subscriber();
          const stop = facts(nasId, { login, acctSessionId: `resent-${login}`, framedAddress: '203.0.113.80', sessionTime, terminateCause: 'User-Request' });
          const early = () => a.account('stop', stop, t1);
          const late = () => b.account('stop', stop, t1 + 4000);
          if (order === 'concurrent') await Promise.all([early(), late()]);
          else if (order === 'later copy first') await late().then(early);
          else await early().then(late);
          const rows = await rowsOf(`resent-${login}`);
          assert.equal(rows.length, 1, `${order}, ${sessionTime} s: recorded once`);
          assert.equal(await secondsLeft(login), 36_000 - sessionTime, `${order}, ${sessionTime} s: charged once`);
        }
      }
    });

    it('an older Start arriving after a newer session took the address (reordered): the newer keeps it, under either policy', async () => {
      for (const policy of ['trust-nas', 'refuse'] as const) {
        const s = await sessions(policy);
        const [older, newer] = [await subscriber(), await subscriber()];
        const address = policy === 'trust-nas' ? '203.0.113.110' : '203.0.113.111';
        const t0 = Date.now() - 600_000;
        const late = await s.account('start', facts(nasId, { login: newer, acctSessionId: `newer-${newer}`, framedAddress: address }), t0 + 100_000);
        const early = await s.account('start', facts(nasId, { login: older, acctSessionId: `older-${older}`, framedAddress: address }), t0, t0 + 101_000);
        assert.equal(s.holderOf(address), late.sessionId, `${policy}: the newer session holds it`);
        assert.notEqual(early.conflict, null, 'the conflict is recorded');
        const open = await t.ctx.store.db.selectFrom('bindings').select('session_id').where('address', '=', address).where('end_at', 'is', null).execute();
        assert.deepEqual(open.map((b) => b.session_id), [late.sessionId]);
        assert.equal(s.resolve(address, t0 + 200_000)?.sessionId, late.sessionId);
      }
    });

    it('a real hand-over after a queued flush or an outage is not mistaken for history: the newest session holds the address', async () => {
      for (const outage of [false, true]) {
        const s = await sessions('trust-nas');
        const address = outage ? '203.0.113.121' : '203.0.113.120';
        const [a, b, c] = [await subscriber(), await subscriber(), await subscriber()];
        const report = (login: string, extra: Partial<AccountingFacts> = {}) => facts(nasId, { login, acctSessionId: `handed-${login}`, framedAddress: address, ...extra });
        const t0 = Date.now() - 900_000;
        await s.account('start', report(a), t0, t0);
        // A's queued Interim arrives late (its receipt moves B's binding start later), or the sweeper closes A.
        if (outage) await s.sweep(120_000, t0 + 300_000);
        else await s.account('interim', report(a, { sessionTime: 100 }), t0 + 100_000, t0 + 300_000);
        await s.account('start', report(b), t0 + 200_000, t0 + 301_000);
        const c1 = await s.account('start', report(c), t0 + 250_000, t0 + 302_000);
        await s.account('stop', report(b, { sessionTime: 40, terminateCause: 'User-Request' }), t0 + 240_000, t0 + 303_000);
        assert.equal(s.holderOf(address), c1.sessionId, `${outage ? 'after an outage' : 'after a queued flush'}: C, handed the address last, holds it`);
      }
    });

    it('a port-based Acct-Session-Id redialled, its Start lost, failing the same way 20 s later: its own session, charged', async () => {
      const s = await sessions();
      const login = await subscriber();
      const t0 = Date.now() - 600_000;
      const report = (extra: Partial<AccountingFacts>) => facts(nasId, { login, acctSessionId: `port-${login}`, framedAddress: '203.0.113.95', ...extra });
      await s.account('start', report({}), t0);
      await s.account('stop', report({ sessionTime: 5, terminateCause: 'Lost-Carrier' }), t0 + 5_000);
      await s.account('stop', report({ sessionTime: 5, terminateCause: 'Lost-Carrier' }), t0 + 30_000);
      assert.equal((await rowsOf(`port-${login}`)).length, 2, 'the redial is recorded');
      assert.equal(await secondsLeft(login), 36_000 - 10, 'both sessions charged');
      // Its Start, late: the redial's own, not a session left open.
      await s.account('start', report({}), t0 + 25_000, t0 + 31_000);
      assert.deepEqual((await rowsOf(`port-${login}`)).map((r) => r.status), ['closed', 'closed']);
    });

    it('a new session whose span crosses an old one\'s start by more than a minute (a NAS clock stepped back): its own session', async () => {
      const s = await sessions();
      const login = await subscriber();
      const t0 = Date.now() - 7_200_000;
      const report = (extra: Partial<AccountingFacts>) => facts(nasId, { login, acctSessionId: `stepped-${login}`, framedAddress: '203.0.113.96', ...extra });
      await s.account('start', report({}), t0);
      await s.account('stop', report({ sessionTime: 600, terminateCause: 'User-Request' }), t0 + 600_000);
      // The NAS's clock now an hour behind; its next session's Start lost. It reports a start 900 s before the first began.
      await s.account('interim', report({ sessionTime: 1200 }), t0 + 300_000);
      assert.equal((await rowsOf(`stepped-${login}`)).length, 2);
    });

    it('an empty Acct-Session-Id names nothing: two sessions of one login stay two', async () => {
      const s = await sessions();
      const login = await subscriber();
      const t0 = Date.now() - 60_000;
      const x = await s.account('start', facts(nasId, { login, acctSessionId: '', framedAddress: '203.0.113.90' }), t0);
      const y = await s.account('start', facts(nasId, { login, acctSessionId: '', framedAddress: '203.0.113.91' }), t0 + 1000);
      assert.notEqual(x.sessionId, y.sessionId);
      assert.deepEqual([s.holderOf('203.0.113.90'), s.holderOf('203.0.113.91')], [x.sessionId, y.sessionId]);
    });

    it('a NAS that reuses an Acct-Session-Id for a later session of the same login: a new session, which takes the key', async () => {
      const s = await sessions();
      const login = await subscriber();
      const t0 = Date.now() - 7_200_000;
      const stop = (sessionTime: number) => facts(nasId, { login, acctSessionId: 'reused-1', framedAddress: '203.0.113.50', sessionTime, terminateCause: 'User-Request' });
      const first = await s.account('stop', stop(300), t0 + 300_000);
      // After a reboot, the same id again, an hour later.
      const second = await s.account('stop', stop(120), t0 + 3_600_000 + 120_000);
      assert.notEqual(second.sessionId, first.sessionId);
      const rows = await rowsOf('reused-1');
      assert.deepEqual(rows.map((r) => [r.id, r.adoption_key !== null]), [[first.sessionId, false], [second.sessionId, true]], 'the key passed to the newer session');
      assert.equal(await secondsLeft(login), 36_000 - 420);
      // The newer session's Stop again (the NAS retransmitting): a duplicate, not a third session or a second charge.
      const again = await s.account('stop', stop(120), t0 + 3_600_000 + 120_000, t0 + 3_600_000 + 125_000);
      assert.equal(again.sessionId, second.sessionId);
      assert.equal((await rowsOf('reused-1')).length, 2);
      assert.equal(await secondsLeft(login), 36_000 - 420);
      // A late copy of the first session's Stop finds that session, which no longer holds the key.
      const late = await s.account('stop', stop(300), t0 + 300_000, t0 + 3_700_000);
      assert.equal(late.sessionId, first.sessionId);
      assert.equal(await secondsLeft(login), 36_000 - 420);
    });

    it('sessions without an Acct-Session-Id carry no key, and another login under the same id is another session', async () => {
      const s = await sessions();
      const [alice, bob] = [await subscriber(), await subscriber()];
      const t0 = Date.now() - 600_000;
      const x = await s.account('start', facts(nasId, { login: alice, acctSessionId: 'shared-id', framedAddress: '203.0.113.60' }), t0);
      const y = await s.account('start', facts(nasId, { login: bob, acctSessionId: 'shared-id', framedAddress: '203.0.113.61' }), t0 + 1000);
      assert.notEqual(x.sessionId, y.sessionId);
      const keys = (await rowsOf('shared-id')).map((r) => r.adoption_key);
      assert.equal(new Set(keys).size, 2);
      const anonymous = await s.account('start', facts(nasId, { login: alice, framedAddress: '203.0.113.62' }), t0 + 2000);
      const row = await t.ctx.store.db.selectFrom('sessions').select('adoption_key').where('id', '=', anonymous.sessionId).executeTakeFirstOrThrow();
      assert.equal(row.adoption_key, null);
    });

    if (dialect === 'postgres') {
      it('a gateway frozen in the middle of its transaction holds up only the reports about its sessions, for lock_timeout', async () => {
        const b = await sessions('trust-nas', other);
        const t0 = Date.now() - 60_000;
        const login = await subscriber();
        const start = facts(nasId, { login, acctSessionId: 'frozen-1', framedAddress: '203.0.113.100' });
        let thaw!: () => void;
        let adopted!: () => void;
        const inserted = new Promise<void>((r) => (adopted = r));
        // "Gateway A": adopted the session, then froze before its COMMIT.
        const frozen = t.ctx.store.db
          .transaction()
          .execute(async (tx) => {
            await sql`insert into sessions (id, login, nas_id, acct_session_id, status, started_at, last_seen_at, session_time, input_octets, output_octets, charged_seconds, adoption_key)
                      values ('ses_frozen_1', ${login}, ${nasId}, 'frozen-1', 'active', ${t0}, ${t0}, 0, 0, 0, 0, ${adoptionKeyOf(start)})`.execute(tx);
            adopted();
            await new Promise<void>((r) => (thaw = r));
            throw new Error('A never commits');
          })
          .catch(() => undefined);
        await inserted;
        const copy = b.account('start', start, t0);
        const unrelated = b.account('start', facts(nasId, { login: await subscriber(), acctSessionId: 'not-frozen', framedAddress: '203.0.113.101' }), t0);
        await assert.rejects(copy, (e) => failureKind(e) === 'lock-timeout', 'the copy waits out lock_timeout, then goes unanswered: the NAS asks again');
        assert.ok((await unrelated).sessionId, 'a report in the same batch is answered');
        thaw();
        await frozen;
        // A's transaction never landed: the NAS's next try adopts the session here.
        const again = await b.account('start', start, t0);
        assert.equal(b.holderOf('203.0.113.100'), again.sessionId);
      });
    }
  });
}
