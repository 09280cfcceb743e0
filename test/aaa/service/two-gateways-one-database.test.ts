import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { committedOf } from '../../../src/aaa/service/session-rows.ts';
import { SessionService } from '../../../src/aaa/service/session-service.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const stopFacts = (nasId: string, classValue: string) => ({
  nasId, login: null, classValue, acctSessionId: null, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: 'User-Request',
});

/** Waits, yielding to I/O between looks, until `done` holds; returns how long that took. Fails after `limitMs`. */
async function until(what: string, done: () => boolean, limitMs = 3000): Promise<number> {
  const t0 = performance.now();
  while (!done()) {
    if (performance.now() - t0 > limitMs) assert.fail(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - t0;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

// Several gateways on one database are a PostgreSQL deployment: SQLite runs one per data directory.
describe('two gateways on one PostgreSQL database', () => {
  let a: TestGateway;
  let b: TestGateway;
  let sessionsA: SessionService;
  let sessionsB: SessionService;
  let nasId: string;
  let poolId: string;
  let lagNasId: string;
  let lagPoolId: string;
  let subscriber = 0;
  const newSubscriber = async (): Promise<string> => (await a.gateway.context.subscribers.add({ login: `two-gw-${++subscriber}`, password: 'two-gateways-password' })).id;
  const authorizeOn = (sessions: SessionService, subscriberId: string, nas: string, pool: string, now = Date.now()) =>
    sessions.authorize({ subscriberId, login: `two-gw-${subscriber}`, nasId: nas, poolId: pool, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });

  before(async () => {
    a = await startTestGateway('postgres', 'two-gateways-a', { radius: { holdDownSeconds: 60 } });
    b = await startTestGateway('postgres', 'two-gateways-b', { radius: { holdDownSeconds: 60 } }, { sharing: a.database });
    sessionsA = a.gateway.authentication.sessions;
    sessionsB = b.gateway.authentication.sessions;
    const network = a.gateway.context.network;
    // Two usable addresses: the hold-down on one is visible as an exhausted pool.
    poolId = (await network.addPool({ name: 'pair', cidr: '192.0.2.0/30' })).id;
    nasId = (await network.addNas({ name: 'bng-1', address: '127.0.0.1', secret: 'two-gateways-secret-1', pool: 'pair' })).id;
    lagPoolId = (await network.addPool({ name: 'lag', cidr: '198.51.100.0/24' })).id;
    lagNasId = (await network.addNas({ name: 'bng-2', address: '127.0.0.2', secret: 'two-gateways-secret-2', pool: 'lag' })).id;
  });
  after(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  it('B resolves an address A bound, and after A closes it, resolves it to nobody and holds it down', async () => {
    const authorized = await authorizeOn(sessionsA, await newSubscriber(), nasId, poolId, Date.now() - 60_000);
    const address = authorized.unit!.address;
    await until('B resolves the address to A\'s session', () => sessionsB.resolve(address, Date.now())?.sessionId === authorized.sessionId);

    await sessionsA.stop(stopFacts(nasId, authorized.classValue));
    const closedAt = Date.now();
    await until('B sees the binding closed', () => sessionsB.holderOf(address) === undefined);
    assert.equal(sessionsB.resolve(address, closedAt + 1000), undefined, 'after the close, nobody holds the address');
    assert.equal(sessionsB.resolve(address, closedAt - 1000)?.sessionId, authorized.sessionId, 'before it, the old holder still answers for its time');

    // B's pool: the other address, then nothing — the first one rests in A's hold-down.
    const other = await authorizeOn(sessionsB, await newSubscriber(), nasId, poolId);
    assert.notEqual(other.unit!.address, address);
    await assert.rejects(authorizeOn(sessionsB, await newSubscriber(), nasId, poolId), (e) => e instanceof SidebandError && e.code === 'AAA_POOL_EXHAUSTED');
    await sessionsB.stop(stopFacts(nasId, other.classValue));
    await until('A sees B\'s close', () => sessionsA.holderOf(other.unit!.address) === undefined);
  });

  it('a session opened and closed elsewhere before a gateway reads it still rests in its pool', async () => {
    const store = a.gateway.context.store;
    // A third gateway's sessions, rebuilt before the session exists and given it only closed.
    const commit = new GroupCommit(store.db);
    const late = new SessionService(store, commit, createTestLogger('two-gateways-late'), 60_000);
    try {
      await late.rebuild();
      const openedAt = Date.now();
      const quick = await sessionsA.authorize({ subscriberId: await newSubscriber(), login: 'quick', nasId: lagNasId, poolId: lagPoolId, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: openedAt });
      await sessionsA.stop(stopFacts(lagNasId, quick.classValue));
      const row = await store.db.selectFrom('sessions').selectAll().where('id', '=', quick.sessionId).executeTakeFirstOrThrow();
      const binding = await store.db.selectFrom('bindings').selectAll().where('session_id', '=', quick.sessionId).executeTakeFirst();
      await late.applyRemote(committedOf(row, binding));
      assert.equal(late.resolve(quick.unit!.address, openedAt)?.sessionId, quick.sessionId);
      assert.equal(late.holderOf(quick.unit!.address), undefined);
      const taken: string[] = [];
      for (let i = 0; i < 4; i++) {
        const next = await authorizeOn(late, await newSubscriber(), lagNasId, lagPoolId);
        taken.push(next.unit!.address);
        await late.stop(stopFacts(lagNasId, next.classValue));
      }
      assert.ok(!taken.includes(quick.unit!.address), `the unit in A's hold-down was handed out again: ${taken.join(', ')}`);

      // And B, following the feed, knows the quick session whichever way it read it.
      await until('B resolves the quick session', () => sessionsB.resolve(quick.unit!.address, openedAt)?.sessionId === quick.sessionId);
      assert.equal(sessionsB.holderOf(quick.unit!.address), undefined);
    } finally {
      await commit.close();
    }
  });

  it('measures how soon B follows A (never asserted)', async (t) => {
    const lags: number[] = [];
    for (let i = 0; i < 100; i++) {
      const s = await authorizeOn(sessionsA, await newSubscriber(), lagNasId, lagPoolId);
      lags.push(await until('B follows a bind', () => sessionsB.holderOf(s.unit!.address) === s.sessionId));
      await sessionsA.stop(stopFacts(lagNasId, s.classValue));
      lags.push(await until('B follows a close', () => sessionsB.holderOf(s.unit!.address) === undefined));
    }
    lags.sort((x, y) => x - y);
    t.diagnostic(`propagation lag over ${lags.length} changes, A's commit to B's index: p50 ${percentile(lags, 50).toFixed(1)} ms, p99 ${percentile(lags, 99).toFixed(1)} ms, max ${lags.at(-1)!.toFixed(1)} ms`);
  });
});
