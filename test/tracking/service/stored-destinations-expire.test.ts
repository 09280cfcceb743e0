import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DestinationTracking } from '../../../src/tracking/service/destination-tracking.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { dialects } from '../../support/databases.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const MINUTE = 60_000;

/**
 * tracking.destinationMaxAgeMinutes says how long a subscriber's destinations are kept.
 * The book in memory forgot them after it; the store kept every row for ever. Now rows
 * past it are deleted a batch at a time, and a read of the store does not return them.
 */
for (const dialect of dialects) {
  describe(`stored destinations past tracking.destinationMaxAgeMinutes are deleted, on ${dialect}`, () => {
    let t: TestGateway;
    const db = () => t.gateway.context.store.db;

    before(async () => {
      t = await startTestGateway(dialect, `tracking-expire-${dialect}`, { tracking: { destinationMaxAgeMinutes: 1 } });
    });
    after(async () => t?.dispose());

    const rows = (session: string, count: number, lastSeen: number) =>
      Array.from({ length: count }, (_, i) => ({ session_id: session, destination: `198.51.${Math.floor(i / 250)}.${i % 250}`, first_seen: lastSeen, last_seen: lastSeen, flows: 1 }));
    const insert = async (r: ReturnType<typeof rows>) => {
      for (let i = 0; i < r.length; i += 500) await db().insertInto('session_destinations').values(r.slice(i, i + 500)).execute();
    };
    const countOf = async (session: string) => Number((await db().selectFrom('session_destinations').select((eb) => eb.fn.countAll().as('n')).where('session_id', '=', session).executeTakeFirstOrThrow()).n);

    it('deletes every row older than the limit, over more than one batch, and keeps the rest', async () => {
      const now = Date.now();
      // 4,500 rows: more than two of the purge's batches of 2,000.
      await insert(rows('ses_expired', 4500, now - 2 * MINUTE));
      await insert(rows('ses_fresh', 3, now - 10_000));
      // One row of a session on each side of the line.
      await insert([{ session_id: 'ses_both', destination: '203.0.113.1', first_seen: now - 5 * MINUTE, last_seen: now - MINUTE - 1, flows: 4 }]);
      await insert([{ session_id: 'ses_both', destination: '203.0.113.2', first_seen: now - 5 * MINUTE, last_seen: now - MINUTE, flows: 2 }]);

      assert.equal(await t.gateway.tracking.purgeExpired(now), 4501);
      assert.equal(await countOf('ses_expired'), 0);
      assert.equal(await countOf('ses_fresh'), 3);
      const both = await db().selectFrom('session_destinations').select('destination').where('session_id', '=', 'ses_both').execute();
      assert.deepEqual(both.map((r) => r.destination), ['203.0.113.2'], 'a row exactly at the limit is kept, as the book keeps it');
      assert.equal(await t.gateway.tracking.purgeExpired(now), 0, 'nothing left to delete');
    });

    it('does not answer from a stored row past the limit that was not deleted yet', async () => {
      const now = Date.now();
      await insert([{ session_id: 'ses_stale', destination: '203.0.113.9', first_seen: now - 3 * MINUTE, last_seen: now - 2 * MINUTE, flows: 1 }]);
      assert.deepEqual(await t.gateway.tracking.destinations('ses_stale', now), []);
      assert.equal((await t.gateway.tracking.destinations('ses_fresh', now)).length, 3);
    });

    it('deletes on the flush timer, once per purge interval', async () => {
      await insert(rows('ses_timer', 10, Date.now() - 2 * MINUTE));
      const ctx = t.gateway.context;
      const tracking = new DestinationTracking(ctx.store, t.gateway.authentication.sessions, createTestLogger(`tracking-expire-timer-${dialect}`), new Metrics({ defaults: false }), { perSession: 64, maxAgeMs: MINUTE, sessionsPerExporter: 100 }, { purgeEveryMs: 0 });
      tracking.start();
      try {
        for (const deadline = Date.now() + 10_000; (await countOf('ses_timer')) > 0; ) {
          assert.ok(Date.now() < deadline, 'the timer deleted the expired rows within 10 s');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await tracking.stop();
      }
    });
  });
}
