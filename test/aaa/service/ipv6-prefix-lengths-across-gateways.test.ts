import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccountingFacts, SessionService } from '../../../src/aaa/service/session-service.ts';
import { SessionService as Sessions } from '../../../src/aaa/service/session-service.ts';
import { committedOf } from '../../../src/aaa/service/session-rows.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const facts = (nasId: string, acctSessionId: string, delegatedIpv6Prefix: string | null): AccountingFacts => ({
  nasId, login: null, classValue: null, acctSessionId, nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: null,
  sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null, delegatedIpv6Prefix,
});

// Several gateways on one database are a PostgreSQL deployment: SQLite runs one per data directory.
describe('NAS-reported IPv6 prefixes of another length, across two gateways on one PostgreSQL database', () => {
  let a: TestGateway;
  let sessionsA: SessionService;
  /** A second gateway whose feed never runs: its memory knows nothing A does after its rebuild. */
  let deaf: Sessions;
  let commit: GroupCommit;
  let nasId: string;
  let poolId: string;
  let subscriberId: string;
  const held = (): number => deaf.poolUsage().find((p) => p.pool === 'tiny-homes')?.held ?? 0;
  const authorizeOnDeaf = (nasPort: number) =>
    deaf.authorize({ subscriberId, login: 'far', nasId, poolId: null, delegatedIpv6PoolId: poolId, nasPort, nasPortId: null, nasIdentifier: null, nasIpAddress: null });

  before(async () => {
    a = await startTestGateway('postgres', 'ipv6-lengths-a', { radius: { holdDownSeconds: 60 } });
    sessionsA = a.gateway.authentication.sessions;
    const network = a.gateway.context.network;
    // Four /56 units.
    poolId = (await network.addPool({ name: 'tiny-homes', cidr: '2001:db8:100::/54', prefixLength: 56 })).id;
    nasId = (await network.addNas({ name: 'bng-v6', address: '127.0.0.1', secret: 'ipv6-lengths-secret', delegatedIpv6Pool: 'tiny-homes' })).id;
    subscriberId = (await a.gateway.context.subscribers.add({ login: 'far', password: 'far-password' })).id;
    commit = new GroupCommit(a.gateway.context.store.db);
    deaf = new Sessions(a.gateway.context.store, commit, createTestLogger('ipv6-lengths-deaf'), 60_000);
    await deaf.rebuild();
  });
  after(async () => {
    await commit?.close();
    await a?.dispose();
  });

  it('a gateway that has not heard of a /60 never hands out its /56, and releases that unit with its holder', async () => {
    const minutesAgo = Date.now() - 10 * 60_000;
    const outcome = await sessionsA.account('start', facts(nasId, 'a-60', '2001:db8:100:10::/60'), minutesAgo);
    assert.deepEqual(outcome.unboundPrefixes, []);
    // The deaf gateway's first unit is 2001:db8:100::/56: the unique index refuses it, the allocator goes on.
    const far = await authorizeOnDeaf(1);
    assert.equal(far.delegatedIpv6Prefix?.openKey, '2001:db8:100:100::/56');
    assert.equal(held(), 2, 'its own unit, and the one the /60 holds');
    // A's session ends long enough ago that its hold-down is over: the unit comes back with the close.
    await sessionsA.stop({ ...facts(nasId, 'a-60', null), sessionTime: 60 }, minutesAgo + 60_000);
    const row = await a.gateway.context.store.db.selectFrom('sessions').selectAll().where('id', '=', outcome.sessionId).executeTakeFirstOrThrow();
    const prefixes = await a.gateway.context.store.db.selectFrom('prefix_bindings').selectAll().where('session_id', '=', outcome.sessionId).execute();
    await deaf.applyRemote(committedOf(row, undefined, undefined, prefixes));
    assert.equal(held(), 1, 'the clashed unit is released with its holder, not kept until a restart');
  });

  it('refuses a prefix overlapping another gateway\'s unit at any length, and a gateway never hands out a unit a shorter prefix covers', async () => {
    // The deaf gateway's session holds 2001:db8:100:100::/56 in the store.
    const refused = await sessionsA.account('start', facts(nasId, 'a-overlap', '2001:db8:100:180::/60'), Date.now());
    assert.deepEqual(refused.unboundPrefixes.map((u) => u.reason), ['held-by-another']);
    const around = await sessionsA.account('interim', facts(nasId, 'a-overlap', '2001:db8:100::/55'), Date.now());
    assert.deepEqual(around.unboundPrefixes.map((u) => u.reason), ['held-by-another']);
    // The last two units, free: bound by one /55, which the deaf gateway must not allocate from.
    const bound = await sessionsA.account('interim', facts(nasId, 'a-overlap', '2001:db8:100:200::/55'), Date.now());
    assert.deepEqual(bound.unboundPrefixes, []);
    await assert.rejects(authorizeOnDeaf(2), (e) => e instanceof SidebandError && e.code === 'AAA_POOL_EXHAUSTED');
  });
});
