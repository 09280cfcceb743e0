import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionService, type AccountingFacts } from '../../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { ambiguousCommits } from '../../support/ambiguous-commits.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';

// A NAS reporting another Framed-IP-Address for a session it already has
// (address-claim.ts, docs/radius.md "A session that changes address"): what must move,
// what must not, and what memory must agree with the store on afterwards. Found by an
// attack on the first version of the rule; radclient's view is in
// accounting-anomalies-with-radclient.test.ts.

const facts = (nasId: string, classValue: string | null, extra: Partial<AccountingFacts> = {}): AccountingFacts => ({
  nasId, login: null, classValue, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, ...extra,
});

const portRange = (alloc: 'allocation' | 'deallocation', address: string) => ({ alloc, protocol: null, externalAddress: address, first: 1024, last: 17151, internalAddress: null, localId: null });

for (const dialect of dialects) {
  describe(`a session whose NAS reports another address, on ${dialect}`, () => {
    let t: TestContext;
    let commit: GroupCommit;
    let nasId: string;
    let poolId: string;
    let cgnNasId: string;
    let cgnPoolId: string;
    let ownNasId: string;
    let n = 0;
    const logger = createTestLogger(`address-moves-${dialect}`);
    const subscriber = async () => {
      const login = `mover-${n++}`;
      return { id: (await t.ctx.subscribers.add({ login, password: `${login}-password` })).id, login };
    };
    const sessions = async (holdDownMs = 60_000, policy: 'trust-nas' | 'refuse' = 'trust-nas', on = commit) => {
      const s = new SessionService(t.ctx.store, on, logger, holdDownMs, { addressConflict: policy });
      await s.rebuild();
      return s;
    };
    const authorize = async (s: SessionService, now: number, nas = nasId, pool = poolId) => {
      const u = await subscriber();
      return s.authorize({ subscriberId: u.id, login: u.login, nasId: nas, poolId: pool, nasPort: n, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });
    };
    const bindingsOf = async (sessionId: string, t0: number) =>
      (await t.ctx.store.db.selectFrom('bindings').select(['address', 'port_first', 'start_at', 'end_at']).where('session_id', '=', sessionId).orderBy('start_at').execute()).map((b) => [
        b.address,
        b.port_first,
        b.start_at - t0,
        b.end_at === null ? null : b.end_at - t0,
      ]);
    const anomaliesOf = async (sessionId: string) => (await t.ctx.store.db.selectFrom('accounting_anomalies').select('kind').where('session_id', '=', sessionId).execute()).map((a) => a.kind).sort();

    before(async () => {
      t = await testContext(dialect, `address-moves-${dialect}`);
      poolId = (await t.ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/25' })).id;
      nasId = (await t.ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'bng-shared-secret-16', pool: 'access' })).id;
      cgnPoolId = (await t.ctx.network.addPool({ name: 'cgnat', cidr: '203.0.113.0/30', portsPerBlock: 16128 })).id;
      cgnNasId = (await t.ctx.network.addNas({ name: 'cgn', address: '127.0.0.2', secret: 'cgn-shared-secret-16', pool: 'cgnat' })).id;
      ownNasId = (await t.ctx.network.addNas({ name: 'own', address: '127.0.0.3', secret: 'own-shared-secret-16' })).id;
      commit = new GroupCommit(t.ctx.store.db);
    });
    after(async () => {
      await commit.close();
      await t.dispose();
    });

    it('a reordered, older Interim does not move the binding back', async () => {
      const s = await sessions();
      const t0 = Date.now() - 100_000;
      const a = await authorize(s, t0);
      const [y, x] = [a.unit!.address, '198.51.100.200'];
      await s.start(facts(nasId, a.classValue, { acctSessionId: 'r1', framedAddress: y }), t0 + 1000);
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'r1', framedAddress: x, sessionTime: 30 }), t0 + 30_000);
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'r1', framedAddress: y, sessionTime: 20 }), t0 + 20_000, t0 + 31_000);
      assert.equal(s.holderOf(x), a.sessionId);
      assert.deepEqual(await bindingsOf(a.sessionId, t0), [[y, null, 0, 30_000], [x, null, 30_000, null]]);
      assert.deepEqual(await anomaliesOf(a.sessionId), ['address-changed'], 'where it was before is no news');
      // Back to the first address later: a move again, and news again.
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'r1', framedAddress: y, sessionTime: 40 }), t0 + 40_000);
      assert.equal(s.holderOf(y), a.sessionId);
      assert.deepEqual(await anomaliesOf(a.sessionId), ['address-changed', 'address-changed']);
    });

    it('under refuse, an Interim repeating a refused address records the anomalies once; the session keeps its own', async () => {
      const s = await sessions(60_000, 'refuse');
      const t0 = Date.now() - 100_000;
      const holder = await authorize(s, t0);
      const mover = await authorize(s, t0);
      await s.start(facts(nasId, holder.classValue, { acctSessionId: 'rh', framedAddress: holder.unit!.address }), t0 + 1000);
      await s.start(facts(nasId, mover.classValue, { acctSessionId: 'rm', framedAddress: mover.unit!.address }), t0 + 1000);
      for (let i = 1; i <= 3; i++) await s.interim(facts(nasId, mover.classValue, { acctSessionId: 'rm', framedAddress: holder.unit!.address, sessionTime: 10 * i }), t0 + 10_000 * i);
      assert.deepEqual(await anomaliesOf(mover.sessionId), ['address-changed', 'address-conflict']);
      assert.deepEqual([s.holderOf(holder.unit!.address), s.holderOf(mover.unit!.address)], [holder.sessionId, mover.sessionId]);
    });

    it('a move whose COMMIT landed but was reported lost tells memory of the holder it closed', async () => {
      await sessions();
      const flaky = new GroupCommit(ambiguousCommits(t.ctx.store.db, 0));
      const s = await sessions(60_000, 'trust-nas', flaky);
      try {
        const t0 = Date.now() - 100_000;
        const holder = await authorize(s, t0);
        const mover = await authorize(s, t0);
        const x = holder.unit!.address;
        await s.start(facts(nasId, holder.classValue, { acctSessionId: 'ah', framedAddress: x }), t0 + 1000);
        await s.start(facts(nasId, mover.classValue, { acctSessionId: 'am', framedAddress: mover.unit!.address }), t0 + 1000);
        // The next commit lands and is reported lost: the group commit runs the move again.
        const lossy = await sessions(60_000, 'trust-nas', new GroupCommit(ambiguousCommits(t.ctx.store.db, 1)));
        await lossy.interim(facts(nasId, mover.classValue, { acctSessionId: 'am', framedAddress: x, sessionTime: 10 }), t0 + 10_000);
        const closed = await t.ctx.store.db.selectFrom('sessions').select('closed_by').where('id', '=', holder.sessionId).executeTakeFirstOrThrow();
        assert.equal(closed.closed_by, 'address-conflict');
        assert.equal(lossy.holderOf(x), mover.sessionId);
        await lossy.stop(facts(nasId, mover.classValue, { acctSessionId: 'am', framedAddress: x, sessionTime: 20 }), t0 + 20_000);
        assert.equal(lossy.resolve(x, t0 + 30_000), undefined, 'memory follows the store: nobody holds it after the Stop');
        assert.equal(lossy.holderOf(x), undefined);
      } finally {
        await flaky.close();
      }
    });

    it('a Start for a pending session on another address than allocated moves it and gives the allocated one back', async () => {
      const s = await sessions(0);
      const t0 = Date.now() - 100_000;
      const a = await authorize(s, t0);
      const before = s.poolUsage().find((p) => p.pool === 'access')!.held;
      await s.start(facts(nasId, a.classValue, { acctSessionId: 'p1', framedAddress: '198.51.100.120' }), t0 + 2000);
      assert.equal(s.holderOf('198.51.100.120'), a.sessionId);
      assert.equal(s.holderOf(a.unit!.address), undefined);
      assert.equal(s.poolUsage().find((p) => p.pool === 'access')!.held, before, 'one unit given back, one taken');
    });

    it('a Start dated in the second of its Accept, on another address, moves it (the NAS dates in whole seconds)', async () => {
      const s = await sessions(0);
      const second = Math.floor((Date.now() - 100_000) / 1000) * 1000;
      const a = await authorize(s, second + 600);
      const x = '198.51.100.122';
      const out = await s.account('start', facts(nasId, a.classValue, { acctSessionId: 'ss1', framedAddress: x }), second, second + 600);
      assert.deepEqual(out.addressChange, { from: a.unit!.address, to: x, followed: true });
      assert.equal(s.holderOf(x), a.sessionId);
    });

    it('moved back to its first address while that rests, it holds it again, and no log-in is given it meanwhile', async () => {
      const s = await sessions();
      const t0 = Date.now() - 100_000;
      const a = await authorize(s, t0);
      const [y, x] = [a.unit!.address, '198.51.100.121'];
      await s.start(facts(nasId, a.classValue, { acctSessionId: 'b1', framedAddress: y }), t0 + 1000);
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'b1', framedAddress: x, sessionTime: 10 }), t0 + 10_000);
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'b1', framedAddress: y, sessionTime: 20 }), t0 + 20_000);
      assert.equal(s.holderOf(y), a.sessionId);
      const rebuilt = await sessions();
      assert.deepEqual(s.poolUsage(), rebuilt.poolUsage(), 'memory as a restart would rebuild it');
      const given: string[] = [];
      for (let i = 0; i < 5; i++) given.push((await authorize(s, Date.now())).unit!.address);
      assert.ok(!given.includes(y), `${y} given while held: ${given.join(', ')}`);
    });

    it('a unit a move released rests its hold-down across a restart', async () => {
      const s = await sessions(3_600_000);
      const now = Date.now();
      const a = await authorize(s, now - 10_000);
      const y = a.unit!.address;
      await s.start(facts(nasId, a.classValue, { acctSessionId: 'hd1', framedAddress: y }), now - 9000);
      // Onto an address of the NAS's own, in no pool of ours.
      await s.interim(facts(nasId, a.classValue, { acctSessionId: 'hd1', framedAddress: '192.0.2.77', sessionTime: 5 }), now - 4000);
      const restarted = await sessions(3_600_000);
      const given: string[] = [];
      for (let i = 0; i < 3; i++) given.push((await authorize(restarted, now)).unit!.address);
      assert.ok(!given.includes(y), `${y} given during its hold-down: ${given.join(', ')}`);
    });

    it('a session adopted without its address under refuse is bound once the holder is gone', async () => {
      const s = await sessions(0, 'refuse');
      const t0 = Date.now() - 100_000;
      const x = '192.0.2.9';
      await s.start(facts(ownNasId, null, { login: 'old', acctSessionId: 'h', framedAddress: x }), t0);
      const late = await s.start(facts(ownNasId, null, { login: 'new', acctSessionId: 'n', framedAddress: x }), t0 + 1000);
      assert.notEqual(s.holderOf(x), late);
      await s.stop(facts(ownNasId, null, { login: 'old', acctSessionId: 'h', framedAddress: x, sessionTime: 5 }), t0 + 5000);
      await s.interim(facts(ownNasId, null, { login: 'new', acctSessionId: 'n', framedAddress: x, sessionTime: 60 }), t0 + 61_000);
      assert.equal(s.holderOf(x), late);
    });

    it('0.0.0.0 and RFC 2865\'s "NAS selects" value are no address: nothing moves, nobody is closed', async () => {
      const s = await sessions();
      const t0 = Date.now() - 100_000;
      for (const placeholder of ['0.0.0.0', '255.255.255.254', '255.255.255.255']) {
        const ids: string[] = [];
        for (let i = 0; i < 2; i++) {
          const a = await authorize(s, t0);
          await s.start(facts(nasId, a.classValue, { acctSessionId: `${placeholder}-${i}`, framedAddress: a.unit!.address }), t0 + 1000);
          await s.interim(facts(nasId, a.classValue, { acctSessionId: `${placeholder}-${i}`, framedAddress: placeholder, sessionTime: 10 + i }), t0 + 10_000 + i * 1000);
          assert.equal(s.holderOf(a.unit!.address), a.sessionId);
          ids.push(a.sessionId);
        }
        const rows = await t.ctx.store.db.selectFrom('sessions').select('status').where('id', 'in', ids).execute();
        assert.deepEqual(rows.map((r) => r.status), ['active', 'active'], placeholder);
      }
    });

    describe('a NAT\'s shared addresses', () => {
      it('a session whose port block the NAT released never takes the shared address whole, nor closes those sharing it', async () => {
        const s = await sessions(0);
        const t0 = Date.now() - 60_000;
        const sharing = [];
        for (let i = 0; i < 3; i++) sharing.push(await authorize(s, t0, cgnNasId, cgnPoolId));
        const shared = sharing[0]!.unit!.address;
        for (let i = 0; i < 3; i++) await s.start(facts(cgnNasId, sharing[i]!.classValue, { acctSessionId: `cg${i}`, framedAddress: shared }), t0 + 1000);
        const other = '203.0.113.2';
        await s.reportPortRange({ sessionId: sharing[0]!.sessionId, nasId: cgnNasId, range: portRange('allocation', other), at: t0 + 2000, receivedAt: t0 + 2000 });
        await s.reportPortRange({ sessionId: sharing[0]!.sessionId, nasId: cgnNasId, range: portRange('deallocation', other), at: t0 + 3000, receivedAt: t0 + 3000 });
        // The NAS keeps reporting the address its Access-Accept gave.
        const out = await s.interim(facts(cgnNasId, sharing[0]!.classValue, { acctSessionId: 'cg0', framedAddress: shared, sessionTime: 10 }), t0 + 4000);
        assert.equal(out, sharing[0]!.sessionId);
        const rows = await t.ctx.store.db.selectFrom('sessions').select('status').where('id', 'in', sharing.map((a) => a.sessionId)).execute();
        assert.ok(rows.every((r) => r.status === 'active'));
        const second = sharing[1]!.unit!;
        assert.equal(s.resolve(shared, Date.now(), second.portFirst! + 5)?.sessionId, sharing[1]!.sessionId);
        assert.ok((await bindingsOf(sharing[0]!.sessionId, t0)).every(([, port]) => port !== null), 'only port blocks');
      });

      it('a session on another NAS reporting a shared address neither takes it nor closes its holders', async () => {
        const s = await sessions(0);
        const t0 = Date.now() - 60_000;
        const holder = await authorize(s, t0, cgnNasId, cgnPoolId);
        await s.start(facts(cgnNasId, holder.classValue, { acctSessionId: 'cgh', framedAddress: holder.unit!.address }), t0 + 1000);
        const plain = await authorize(s, t0);
        await s.start(facts(nasId, plain.classValue, { acctSessionId: 'pl', framedAddress: plain.unit!.address }), t0 + 1000);
        await s.interim(facts(nasId, plain.classValue, { acctSessionId: 'pl', framedAddress: holder.unit!.address, sessionTime: 3 }), t0 + 5000);
        assert.equal(s.holderOf(plain.unit!.address), plain.sessionId);
        const row = await t.ctx.store.db.selectFrom('sessions').select('status').where('id', '=', holder.sessionId).executeTakeFirstOrThrow();
        assert.equal(row.status, 'active');
      });

      it('a back-dated Interim after the NAT released a block leaves nothing open once the session stops', async () => {
        const s = await sessions(0);
        const t0 = Date.now() - 120_000;
        const a = await authorize(s, t0, cgnNasId, cgnPoolId);
        const shared = a.unit!.address;
        await s.start(facts(cgnNasId, a.classValue, { acctSessionId: 'bd1', framedAddress: shared }), t0 + 1000);
        await s.reportPortRange({ sessionId: a.sessionId, nasId: cgnNasId, range: portRange('allocation', '203.0.113.1'), at: t0 + 10_000, receivedAt: t0 + 10_000 });
        await s.reportPortRange({ sessionId: a.sessionId, nasId: cgnNasId, range: portRange('deallocation', '203.0.113.1'), at: t0 + 20_000, receivedAt: t0 + 20_000 });
        await s.interim(facts(cgnNasId, a.classValue, { acctSessionId: 'bd1', framedAddress: shared, sessionTime: 4 }), t0 + 5000, t0 + 25_000);
        await s.stop(facts(cgnNasId, a.classValue, { acctSessionId: 'bd1', framedAddress: shared, sessionTime: 60, terminateCause: 'User-Request' }), t0 + 60_000);
        assert.ok((await bindingsOf(a.sessionId, t0)).every(([, , , end]) => end !== null), 'a closed session holds nothing');
        for (const port of [2000, 20_000, 40_000, 60_000]) assert.notEqual(s.resolve(shared, Date.now() + 86_400_000, port)?.sessionId, a.sessionId);
      });
    });
  });
}
