import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { address, u64 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

// sourceIPv4Address, destinationIPv4Address, flowEndMilliseconds.
const TEMPLATE = { id: 300, fields: [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 153, length: 8 }] };
const SOURCES = 200;
const source = (i: number) => `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`;

/**
 * UDP sources are easy to forge, and an exporter registered by range admits every address
 * in it. The destination book bounds what it keeps per exporter and per session; kept per
 * source address, those bounds multiplied by the addresses an attacker sent from (an attack
 * review reached 57,600 destinations a session against the 64 configured, and 842 MB). Kept
 * per registration, the whole range shares them.
 */
describe('flows from many addresses of one registered range share its bounds', () => {
  let t: TestGateway;
  let session: { id: string; address: string };
  const at = Date.now() - 60_000;

  before(async () => {
    t = await startTestGateway('sqlite', 'registration-quota', { tracking: { destinationsPerSession: 16 } });
    const ctx = t.gateway.context;
    await ctx.exporters.add({ name: 'loopback-range', address: '127.0.0.0/8' });
    await ctx.exporters.load();
    const pool = await ctx.network.addPool({ name: 'one', cidr: '192.0.2.80/32' });
    const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'registration-quota-secret', pool: 'one' });
    const sub = await ctx.subscribers.add({ login: 'una', password: 'una-password' });
    const authorized = await t.gateway.authentication.sessions.authorize({ subscriberId: sub.id, login: 'una', nasId: nas.id, poolId: pool.id, nasPort: null, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: at - 60_000 });
    session = { id: authorized.sessionId, address: authorized.unit!.address };
  });
  after(async () => t?.dispose());

  it('keeps one entry for the session, at most destinationsPerSession destinations, however many sources sent', () => {
    for (let i = 0; i < SOURCES; i++) {
      const records = Array.from({ length: 4 }, (_, k) => [address(session.address), address(`198.51.100.${1 + ((i * 4 + k) % 250)}`), u64(at)]);
      assert.equal(t.gateway.flows!.receive('ipfix', ipfixMessage({ sequence: 0, exportTime: Math.floor(Date.now() / 1000) }, templateSet(TEMPLATE), dataSet(TEMPLATE.id, ...records)), source(i)), 4);
    }
    const size = t.gateway.tracking.book.size;
    assert.deepEqual([size.sessions, size.destinations <= 16], [1, true], JSON.stringify(size));
    assert.equal(t.gateway.tracking.book.of(session.id).length, 16);
  });
});
