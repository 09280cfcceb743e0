import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { DestinationTracking } from '../../../src/tracking/service/destination-tracking.ts';
import { openOneSession } from '../../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const failures = async (metrics: Metrics): Promise<number> => {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith('sideband_destination_write_failures_total '));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/**
 * Two gateways on one PostgreSQL database whose collectors both saw a session's
 * destinations, in opposite orders, flush at the same moment. Each flush is one
 * transaction of row locks: written in the order each gateway first saw them, the two
 * took the same rows' locks in opposite orders and PostgreSQL broke the deadlock by
 * failing one flush (kept and retried, but a failure all the same). Rows now go in one
 * order on every gateway: sessions by id, a session's destinations by text.
 */
describe('two gateways flushing the same destination rows at once, on postgres', () => {
  let t: TestGateway;
  const trackers: Array<{ tracking: DestinationTracking; metrics: Metrics }> = [];
  let sessionId: string;
  let address: string;

  before(async () => {
    t = await startTestGateway('postgres', 'tracking-two-flushers');
    ({ sessionId, address } = await openOneSession(t, 'olga'));
    for (const name of ['one', 'two']) {
      const metrics = new Metrics({ defaults: false });
      const tracking = new DestinationTracking(t.gateway.context.store, t.gateway.authentication.sessions, createTestLogger(`tracking-two-flushers-${name}`), metrics, { perSession: 4096, maxAgeMs: 3_600_000, sessionsPerExporter: 100 });
      trackers.push({ tracking, metrics });
    }
  });
  after(async () => {
    for (const { tracking } of trackers) await tracking.stop();
    await t?.dispose();
  });

  it('writes both without a deadlock, the flows of both counted once each', async () => {
    const at = Date.now() - 60_000;
    const destinations = Array.from({ length: 3000 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const [one, two] = trackers;
    for (const d of destinations) assert.equal(one!.tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: d, at }).attributed, true);
    for (const d of [...destinations].reverse()) assert.equal(two!.tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: d, at }).attributed, true);
    await Promise.all([one!.tracking.flush(), two!.tracking.flush()]);
    assert.deepEqual([await failures(one!.metrics), await failures(two!.metrics)], [0, 0], 'neither flush failed');
    assert.deepEqual([one!.tracking.pendingWriteCount, two!.tracking.pendingWriteCount], [0, 0]);
    const rows = await t.gateway.context.store.db.selectFrom('session_destinations').select(['flows']).where('session_id', '=', sessionId).execute();
    assert.equal(rows.length, destinations.length);
    assert.ok(rows.every((r) => Number(r.flows) === 2));
  });
});
