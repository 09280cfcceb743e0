import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { DestinationTracking } from '../../../src/tracking/service/destination-tracking.ts';
import { dialects } from '../../support/databases.ts';
import { openOneSession } from '../../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const counted = async (metrics: Metrics, name: string): Promise<number> => {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/**
 * Rows whose write failed are kept for the next flush, up to maxPendingWrites: past that
 * the oldest (by last contact) are dropped and counted, and the newest written once the
 * store takes them again.
 */
for (const dialect of dialects) {
  describe(`destination rows kept after failed writes, at their limit, on ${dialect}`, () => {
    let t: TestGateway;
    let tracking: DestinationTracking;
    let metrics: Metrics;
    let sessionId: string;
    let address: string;

    before(async () => {
      t = await startTestGateway(dialect, `tracking-kept-limit-${dialect}`);
      ({ sessionId, address } = await openOneSession(t, 'kim'));
      metrics = new Metrics({ defaults: false });
      // A tracker of its own, beside the gateway's, so that its limit can be small.
      tracking = new DestinationTracking(t.gateway.context.store, t.gateway.authentication.sessions, createTestLogger(`tracking-kept-limit-${dialect}`), metrics, { perSession: 64, maxAgeMs: 3_600_000, sessionsPerExporter: 100 }, { maxPendingWrites: 3 });
    });
    after(async () => {
      await tracking?.stop();
      await t?.dispose();
    });

    it('drops the oldest past the limit, counts them, and writes the rest once the store is back', async () => {
      const db = t.gateway.context.store.db;
      const at = Date.now() - 60_000;
      await sql`alter table session_destinations rename to session_destinations_away`.execute(db);
      try {
        for (let i = 1; i <= 5; i++) assert.deepEqual(tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: `198.51.100.${i}`, at: at + i * 1000 }), { attributed: true, sessionId });
        await tracking.flush();
        assert.equal(tracking.pendingWriteCount, 3);
        assert.equal(await counted(metrics, 'sideband_destination_writes_dropped_total'), 2);
        // A failed flush again merges what came since with what was kept, one row per pair.
        assert.deepEqual(tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: '198.51.100.5', at: at + 9000 }), { attributed: true, sessionId });
        await tracking.flush();
        assert.equal(tracking.pendingWriteCount, 3);
        assert.equal(await counted(metrics, 'sideband_destination_write_failures_total'), 2);
      } finally {
        await sql`alter table session_destinations_away rename to session_destinations`.execute(db);
      }
      await tracking.flush();
      assert.equal(tracking.pendingWriteCount, 0);
      const rows = await db.selectFrom('session_destinations').select(['destination', 'last_seen', 'flows']).where('session_id', '=', sessionId).orderBy('destination').execute();
      assert.deepEqual(
        rows.map((r) => [r.destination, Number(r.last_seen), Number(r.flows)]),
        [
          ['198.51.100.3', at + 3000, 1],
          ['198.51.100.4', at + 4000, 1],
          ['198.51.100.5', at + 9000, 2],
        ],
      );
    });
  });
}
