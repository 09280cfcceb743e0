import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AccountingFacts, SessionService } from '../../../src/aaa/service/session-service.ts';
import type { Metrics } from '../../../src/observability/metrics.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

/** Transactions the gateway's group commit saw fail with a serialization failure or a deadlock. */
const serializationFailures = async (metrics: Metrics): Promise<number> =>
  (await metrics.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('sideband_group_commit_failures_total{') && l.includes('kind="serialization"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);

// A prepaid Stop charges the subscriber and lowers the Session-Timeout of the subscriber's
// other open sessions. Two gateways each given the Stop of one of a subscriber's two
// sessions at once used to lock their own session first, then the subscriber, then the
// other's session: each waited for the other until PostgreSQL's deadlock_timeout (a second)
// broke it, and the loser's whole batch ran again. The session's read for a change that may
// charge now takes the prepaid subscriber's row before the session's, as a purchase does,
// and each transaction with several lanes runs its jobs by subscriber (GroupCommit).
describe('prepaid Stops of one subscriber on two gateways at once', () => {
  let a: TestGateway;
  let b: TestGateway;
  let nasId: string;
  let poolId: string;

  before(async () => {
    a = await startTestGateway('postgres', 'prepaid-stops-a');
    b = await startTestGateway('postgres', 'prepaid-stops-b', { vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
    poolId = (await a.gateway.context.network.addPool({ name: 'prepaid', cidr: '198.51.100.0/24' })).id;
    nasId = (await a.gateway.context.network.addNas({ name: 'prepaid-bng', address: '127.0.0.5', secret: 'prepaid-stops-secret-1', pool: 'prepaid' })).id;
  });
  after(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  let subscribers = 0;
  /**
   * Rounds of `perRound` prepaid subscribers with two open sessions each; each gateway gets
   * the Stop of one of each subscriber's sessions, gateway B in the order given by `orderOnB`,
   * all at once.
   */
  const stopsOnBoth = async (rounds: number, perRound: number, orderOnB: (stops: AccountingFacts[]) => AccountingFacts[]): Promise<string[]> => {
    const sessionsA: SessionService = a.gateway.authentication.sessions;
    const sessionsB: SessionService = b.gateway.authentication.sessions;
    const t0 = Date.now() - 3_600_000;
    const logins: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const onA: AccountingFacts[] = [];
      const onB: AccountingFacts[] = [];
      for (let k = 0; k < perRound; k++) {
        const login = `prepaid-${++subscribers}`;
        logins.push(login);
        const subscriber = await a.gateway.context.subscribers.add({ login, password: `${login}-password`, seconds: 36_000 });
        for (const stops of [onA, onB]) {
          const nasPort = stops === onA ? 2 * subscribers : 2 * subscribers + 1;
          const granted = await sessionsA.authorize({ subscriberId: subscriber.id, login, nasId, poolId, nasPort, nasPortId: null, nasIdentifier: null, nasIpAddress: null, sessionTimeout: 36_000, now: t0 });
          const f: AccountingFacts = {
            nasId, login, classValue: granted.classValue, acctSessionId: `prepaid-${nasPort}`, nasIdentifier: null, nasIpAddress: null, nasPort, nasPortId: null,
            framedAddress: granted.unit!.address, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
          };
          await sessionsA.account('start', f, t0 + 1000);
          stops.push({ ...f, sessionTime: 300, terminateCause: 'User-Request' });
        }
      }
      await Promise.all([...onA.map((f) => sessionsA.account('stop', f, t0 + 301_000)), ...orderOnB(onB).map((f) => sessionsB.account('stop', f, t0 + 301_000))]);
    }
    return logins;
  };

  const assertChargedOnceWithoutDeadlock = async (logins: string[]): Promise<void> => {
    assert.equal((await serializationFailures(a.gateway.metrics)) + (await serializationFailures(b.gateway.metrics)), 0, 'no transaction failed on a deadlock and ran again');
    const left = await a.gateway.context.store.db.selectFrom('subscribers').select('seconds_remaining').where('login', 'in', logins).execute();
    assert.equal(left.length, logins.length);
    assert.deepEqual(new Set(left.map((s) => s.seconds_remaining)), new Set([36_000 - 600]), 'each charged 300 s for each of its two sessions, once');
  };

  it('one Stop of each subscriber on each gateway, in the same order: no deadlock, each charged once for each session', async () => {
    await assertChargedOnceWithoutDeadlock(await stopsOnBoth(8, 4, (stops) => stops));
  });

  // More Stops than a gateway has lanes, so that one transaction holds several subscribers;
  // in opposite orders, two such transactions met each other's subscribers the other way round.
  it('the Stops of many subscribers in opposite orders on the two gateways: no deadlock either', async () => {
    await assertChargedOnceWithoutDeadlock(await stopsOnBoth(4, 16, (stops) => stops.slice().reverse()));
  });
});
