import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { address, u64 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

// sourceIPv4Address, destinationIPv4Address, flowEndMilliseconds.
const TEMPLATE = { id: 300, fields: [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 153, length: 8 }] };

/**
 * The collector keeps who held each source address between records (SourceHolders); here
 * the address changes hands between two datagrams, and each record must go to whoever held
 * it at the record's own time, never to the holder the collector saw last.
 */
describe('flow attribution when a session ends and its address goes to another subscriber between two datagrams', () => {
  let t: TestGateway;
  const T = Math.floor(Date.now() / 1000) * 1000 - 120_000;
  let sequence = 0;
  let ada: { id: string; address: string };
  let bea: string;
  let stopAda: () => Promise<unknown>;
  let authorizeBea: () => Promise<string>;

  before(async () => {
    t = await startTestGateway('sqlite', 'attribution-binding-change', { radius: { holdDownSeconds: 0 }, tracking: { clockSkewSeconds: 0 } });
    const ctx = t.gateway.context;
    await ctx.exporters.add({ name: 'bng-flows', address: '127.0.0.1' });
    await ctx.exporters.load();
    const pool = await ctx.network.addPool({ name: 'one', cidr: '192.0.2.77/32' });
    const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'binding-change-secret', pool: 'one' });
    const a = await ctx.subscribers.add({ login: 'ada', password: 'ada-password' });
    const b = await ctx.subscribers.add({ login: 'bea', password: 'bea-password' });
    const sessions = t.gateway.authentication.sessions;
    const authorize = (subscriberId: string, login: string, now: number) => sessions.authorize({ subscriberId, login, nasId: nas.id, poolId: pool.id, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });
    const ax = await authorize(a.id, 'ada', T);
    ada = { id: ax.sessionId, address: ax.unit!.address };
    stopAda = () => sessions.stop({ nasId: nas.id, login: 'ada', classValue: ax.classValue, acctSessionId: 'ada-1', nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null, framedAddress: ada.address, sessionTime: 60, inputOctets: null, outputOctets: null, terminateCause: 'User-Request' }, T + 60_000);
    authorizeBea = async () => {
      const bx = await authorize(b.id, 'bea', T + 60_000);
      assert.equal(bx.unit!.address, ada.address, 'the one address of the pool');
      return bx.sessionId;
    };
  });
  after(async () => t?.dispose());

  const send = (...records: { destination: string; at: number }[]) => {
    const message = ipfixMessage({ sequence, exportTime: Math.floor(Date.now() / 1000) }, templateSet(TEMPLATE), dataSet(TEMPLATE.id, ...records.map((r) => [address(ada.address), address(r.destination), u64(r.at)])));
    sequence += records.length;
    return t.gateway.flows!.receive('ipfix', message, '127.0.0.1');
  };
  const destinationsOf = (sessionId: string) => t.gateway.tracking.book.of(sessionId).map((d) => d.destination).sort();

  it('attributes to the session holding the address, then to nobody once it closed', async () => {
    assert.equal(send({ destination: '198.51.100.1', at: T + 10_000 }, { destination: '198.51.100.2', at: T + 20_000 }), 2);
    assert.deepEqual(destinationsOf(ada.id), ['198.51.100.1', '198.51.100.2']);
    await stopAda();
    send({ destination: '198.51.100.3', at: T + 70_000 }, { destination: '198.51.100.4', at: T + 30_000 });
    assert.deepEqual(destinationsOf(ada.id), ['198.51.100.1', '198.51.100.2', '198.51.100.4'], 'after the close only the record from before it is hers');
  });

  it('attributes to the new holder once the address moved to another subscriber, and the older records still to the first', async () => {
    bea = await authorizeBea();
    send({ destination: '198.51.100.5', at: T + 70_000 }, { destination: '198.51.100.6', at: T + 40_000 }, { destination: '198.51.100.7', at: T + 80_000 });
    assert.deepEqual(destinationsOf(bea), ['198.51.100.5', '198.51.100.7']);
    assert.deepEqual(destinationsOf(ada.id), ['198.51.100.1', '198.51.100.2', '198.51.100.4', '198.51.100.6']);
  });
});
