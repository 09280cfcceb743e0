import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { committedOf } from '../../../src/aaa/service/session-rows.ts';
import { SessionFeed } from '../../../src/aaa/service/session-feed.ts';
import { SessionService } from '../../../src/aaa/service/session-service.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { ChangeNotices } from '../../../src/store/change-notices.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { JobLeases } from '../../../src/store/job-leases.ts';
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
    // One keyring file for both, as gateways on one host share it (a rotation writes it once).
    b = await startTestGateway('postgres', 'two-gateways-b', { radius: { holdDownSeconds: 60 }, vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
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

  it('a gateway that reads two moves of one session in one pass follows both: the address in between answers for its time', async () => {
    const store = a.gateway.context.store;
    const logger = createTestLogger('two-gateways-moves');
    const t0 = Date.now() - 100_000;
    const moving = await authorizeOn(sessionsA, await newSubscriber(), lagNasId, lagPoolId, t0);
    const facts = (framedAddress: string, sessionTime: number) => ({ ...stopFacts(lagNasId, moving.classValue), acctSessionId: 'moving-1', framedAddress, sessionTime, terminateCause: null });
    const y = moving.unit!.address;
    await sessionsA.start(facts(y, 0), t0 + 1000, t0 + 1000);
    // A third gateway, its feed begun and its memory rebuilt now, but not yet following.
    const commit = new GroupCommit(store.db);
    const c = new SessionService(store, commit, logger, 60_000);
    const notices = new ChangeNotices(a.database.databaseUrl!, logger);
    const feed = new SessionFeed(store, c, logger, new Metrics({ defaults: false }), notices, new JobLeases(store));
    try {
      await notices.start();
      await feed.start();
      await c.rebuild();
      assert.equal(c.holderOf(y), moving.sessionId);
      // Its NAS moves the session twice before that gateway reads anything.
      const [x, z] = ['198.51.100.230', '198.51.100.231'];
      await sessionsA.account('interim', facts(x, 10), t0 + 10_000, t0 + 10_000);
      await sessionsA.account('interim', facts(z, 20), t0 + 20_000, t0 + 20_000);
      feed.follow();
      await until('C follows the second move', () => c.holderOf(z) === moving.sessionId);
      const between = t0 + 15_000;
      assert.equal(c.resolve(x, between)?.sessionId, moving.sessionId, 'the address it held in between');
      assert.equal(c.resolve(y, between), undefined, 'the first address ended where the second began');
      assert.equal(c.resolve(y, t0 + 5000)?.sessionId, moving.sessionId);
      assert.deepEqual([c.holderOf(x), c.holderOf(y)], [undefined, undefined]);
      await sessionsA.stop(facts(z, 30), t0 + 30_000, t0 + 30_000);
    } finally {
      await feed.stop();
      await notices.stop();
      await commit.close();
    }
  });

  it('one adopted NAS session reported to both gateways at once (the NAS\'s failover) is recorded and charged once', async () => {
    const db = a.gateway.context.store.db;
    const ownNas = (await a.gateway.context.network.addNas({ name: 'bng-own', address: '127.0.0.4', secret: 'two-gateways-secret-4' })).id;
    const logins: string[] = [];
    for (let i = 0; i < 16; i++) {
      logins.push(`failover-${i}`);
      await a.gateway.context.subscribers.add({ login: `failover-${i}`, password: 'failover-password', seconds: 36_000 });
    }
    const t0 = Date.now() - 3_600_000;
    const report = (i: number, kind: 'start' | 'stop') => ({
      ...stopFacts(ownNas, ''), classValue: null, login: logins[i]!, acctSessionId: `failover-${i}`, framedAddress: `203.0.113.${100 + i}`,
      sessionTime: kind === 'stop' ? 600 : null, terminateCause: kind === 'stop' ? 'User-Request' : null,
    });
    // Each copy dated by its own arrival, as a NAS without Event-Timestamp has them: up to a second apart.
    const skew = (i: number) => (i * 97) % 1000;
    // Half start first, each Start at both gateways at once (the Stop finds them); half are known only from their Stop.
    const half = logins.length / 2;
    await Promise.all(logins.slice(0, half).flatMap((_, i) => [sessionsA.account('start', report(i, 'start'), t0, t0), sessionsB.account('start', report(i, 'start'), t0 + skew(i), t0 + skew(i))]));
    const end = t0 + 600_000;
    await Promise.all(logins.flatMap((_, i) => [sessionsA.account('stop', report(i, 'stop'), end, end), sessionsB.account('stop', report(i, 'stop'), end + skew(i), end + skew(i))]));
    const rows = await db.selectFrom('sessions').select(['acct_session_id', 'charged_seconds']).where('nas_id', '=', ownNas).execute();
    assert.deepEqual(rows.map((r) => r.acct_session_id).sort(), logins.map((_, i) => `failover-${i}`).sort(), 'one session each');
    const left = await db.selectFrom('subscribers').select(['login', 'seconds_remaining']).where('login', 'in', logins).orderBy('login').execute();
    assert.deepEqual(left.map((l) => l.seconds_remaining), logins.map(() => 36_000 - 600), 'each charged once');
    // Both gateways know each once, bound to its address for its time.
    for (const sessions of [sessionsA, sessionsB]) {
      await until('both resolve every adopted session', () => logins.every((_, i) => sessions.resolve(`203.0.113.${100 + i}`, t0 + 300_000 + 1000) !== undefined));
    }
  });

  it('a log-in sent to both gateways at once for the last free address gets one answer from both, never an Accept and a Reject', async () => {
    const network = a.gateway.context.network;
    for (let round = 0; round < 8; round++) {
      // A pool of two addresses, one held for good: the log-in races for the other.
      const pool = (await network.addPool({ name: `last-${round}`, cidr: `203.0.113.${32 + 4 * round}/30` })).id;
      const nas = (await network.addNas({ name: `bng-last-${round}`, address: `127.0.1.${round + 1}`, secret: 'two-gateways-secret-5', pool: `last-${round}` })).id;
      const onPort = (sessions: SessionService, subscriberId: string, port: number) =>
        sessions.authorize({ subscriberId, login: 'retried', nasId: nas, poolId: pool, nasPort: port, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: Date.now() });
      const resident = await onPort(sessionsA, await newSubscriber(), 1);
      await until('B knows the resident', () => sessionsB.holderOf(resident.unit!.address) === resident.sessionId);
      const subscriberId = await newSubscriber();
      const answers = await Promise.allSettled([onPort(sessionsA, subscriberId, 2), onPort(sessionsB, subscriberId, 2)]);
      const ids = answers.map((r) => (r.status === 'fulfilled' ? r.value.sessionId : `${(r.reason as SidebandError).code}: ${(r.reason as Error).message}`));
      assert.equal(ids[0], ids[1], `round ${round}: ${ids.join(' / ')}`);
    }
  });

  it('a gateway that has not heard of another\'s session never binds its unit, bound or in hold-down', async () => {
    const store = a.gateway.context.store;
    const network = a.gateway.context.network;
    const quietPool = (await network.addPool({ name: 'quiet', cidr: '203.0.113.0/30' })).id;
    const quietNas = (await network.addNas({ name: 'bng-3', address: '127.0.0.3', secret: 'two-gateways-secret-3', pool: 'quiet' })).id;
    // A gateway whose feed never runs: its memory knows nothing A does after its rebuild.
    const commit = new GroupCommit(store.db);
    const deaf = new SessionService(store, commit, createTestLogger('two-gateways-deaf'), 60_000);
    try {
      await deaf.rebuild();
      // Bound and released by A: in A's hold-down, and free as far as the deaf gateway knows.
      const rested = await authorizeOn(sessionsA, await newSubscriber(), quietNas, quietPool);
      await sessionsA.stop(stopFacts(quietNas, rested.classValue));
      const held = await authorizeOn(sessionsA, await newSubscriber(), quietNas, quietPool);
      assert.notEqual(held.unit!.address, rested.unit!.address);
      // Both units are A's: one bound, one resting. The deaf gateway must take neither.
      await assert.rejects(authorizeOn(deaf, await newSubscriber(), quietNas, quietPool), (e) => e instanceof SidebandError && e.code === 'AAA_POOL_EXHAUSTED', 'a unit bound or in hold-down at another gateway was handed out');
      await sessionsA.stop(stopFacts(quietNas, held.classValue));
    } finally {
      await commit.close();
    }
  });

  it('B follows what operators change through A: NAS clients, suspensions, merchant keys, the active master key', async () => {
    // Within a notification, not the 10 s reload nor the 1 s subscriber cache.
    const network = a.gateway.context.network;
    const nas = await network.addNas({ name: 'bng-4', address: '127.0.0.4', secret: 'two-gateways-secret-4' });
    await until('B knows the new NAS client', () => b.gateway.authentication.nas.byId(nas.id) !== undefined, 5000);
    await network.removeNas('bng-4');
    await until('B forgets the removed NAS client', () => b.gateway.authentication.nas.byId(nas.id) === undefined, 5000);

    const nextKey = b.gateway.context.vault.nextActiveKey(AbortSignal.timeout(5000));
    const rotated = await a.gateway.context.vault.rotate();
    assert.equal(await nextKey, rotated.activeKey, 'B seals under the key A\'s rotation made active');

    // A suspension: B's cached entry is dropped, not left to its TTL (its clock is held still here).
    const subscribers = a.gateway.context.subscribers;
    const directory = b.gateway.authentication.subscribers;
    await subscribers.add({ login: 'two-gw-suspended', password: 'two-gateways-password' });
    const still = Date.now();
    assert.equal((await directory.get('two-gw-suspended', still))?.status, 'active');
    await subscribers.suspend('two-gw-suspended');
    const t0 = performance.now();
    while ((await directory.get('two-gw-suspended', still))?.status !== 'suspended') {
      if (performance.now() - t0 > 5000) assert.fail('B still has the subscriber active 5 s after A suspended it');
      await new Promise((r) => setImmediate(r));
    }
  });

  it('a third gateway on the same exchange refuses to reserve channel numbers another gateway holds', async () => {
    const exchange = a.gateway.listen.exchangeUdp;
    assert.ok(exchange, 'A runs the built-in exchange');
    const port = Number(exchange.slice(exchange.lastIndexOf(':') + 1));
    await assert.rejects(
      startTestGateway('postgres', 'two-gateways-c', { channel: { exchange: { builtIn: false, host: '127.0.0.1', port } }, vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database }),
      (e) => e instanceof SidebandError && e.code === 'CHANNEL_NUMBER_CLAIMED' && /give each gateway its own channel\.numbers/.test(e.message),
    );
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
