import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../../support/databases.ts';
import { openOneSession } from '../../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const metric = async (t: TestGateway, name: string): Promise<number> => {
  const line = (await t.gateway.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/**
 * One (session, destination) counted by more than one book entry in one flush: two
 * exporters that both saw it, or an entry evicted and made again. PostgreSQL refuses an
 * INSERT … ON CONFLICT that meets one key twice, so the flush failed whole; and a row
 * written as one entry's total lost what the other had counted.
 */
for (const dialect of dialects) {
  describe(`a destination row sums every entry that counted it, on ${dialect}`, () => {
    let t: TestGateway;
    let sessionId: string;
    let address: string;

    before(async () => {
      // Two destinations per session, so that a third evicts one of the first two.
      t = await startTestGateway(dialect, `tracking-sums-${dialect}`, { tracking: { destinationsPerSession: 2 } });
      ({ sessionId, address } = await openOneSession(t, 'ines'));
    });
    after(async () => t?.dispose());

    const observe = (exporter: string, destination: string, at: number, flows: number) => {
      const found = t.gateway.tracking.attribute({ exporter, sourceAddress: address, destinationAddress: destination, at, flows });
      assert.deepEqual(found, { attributed: true, sessionId });
    };
    const row = (destination: string) =>
      t.gateway.context.store.db.selectFrom('session_destinations').select(['first_seen', 'last_seen', 'flows']).where('session_id', '=', sessionId).where('destination', '=', destination).executeTakeFirstOrThrow();

    it('writes the pair two exporters saw in one flush, as their sum, with the earliest first and latest last contact', async () => {
      const failuresBefore = await metric(t, 'sideband_destination_write_failures_total');
      const at = Date.now() - 60_000;
      observe('router-a', '198.51.100.30', at, 3);
      observe('router-b', '198.51.100.30', at - 5000, 4);
      observe('router-b', '198.51.100.30', at + 2000, 1);
      await t.gateway.tracking.flush();
      assert.equal(await metric(t, 'sideband_destination_write_failures_total'), failuresBefore, 'the flush was not refused');
      assert.equal(t.gateway.tracking.pendingWriteCount, 0);
      const r = await row('198.51.100.30');
      assert.deepEqual([Number(r.first_seen), Number(r.last_seen), Number(r.flows)], [at - 5000, at + 2000, 8]);

      // Later flushes add what was counted since, once.
      observe('router-a', '198.51.100.30', at + 3000, 2);
      await t.gateway.tracking.flush();
      await t.gateway.tracking.flush();
      const again = await row('198.51.100.30');
      assert.deepEqual([Number(again.first_seen), Number(again.last_seen), Number(again.flows)], [at - 5000, at + 3000, 10]);
    });

    it('keeps the count of an entry evicted and made again within one flush', async () => {
      const at = Date.now() - 50_000;
      observe('router-c', '198.51.100.40', at, 5);
      observe('router-c', '198.51.100.41', at + 1000, 1);
      // A third destination evicts the oldest, .40; .40 again evicts .41 and starts a new entry.
      observe('router-c', '198.51.100.42', at + 2000, 1);
      observe('router-c', '198.51.100.40', at + 3000, 2);
      const failuresBefore = await metric(t, 'sideband_destination_write_failures_total');
      await t.gateway.tracking.flush();
      assert.equal(await metric(t, 'sideband_destination_write_failures_total'), failuresBefore, 'the flush was not refused');
      const r = await row('198.51.100.40');
      assert.deepEqual([Number(r.first_seen), Number(r.last_seen), Number(r.flows)], [at, at + 3000, 7]);
      assert.equal(Number((await row('198.51.100.41')).flows), 1);
      assert.equal(Number((await row('198.51.100.42')).flows), 1);
    });

    it('adds to what another gateway (or this one before a restart) wrote, instead of overwriting it', async () => {
      const at = Date.now() - 40_000;
      const db = t.gateway.context.store.db;
      await db.insertInto('session_destinations').values({ session_id: sessionId, destination: '198.51.100.50', first_seen: at - 20_000, last_seen: at + 20_000, flows: 100 }).execute();
      observe('router-d', '198.51.100.50', at, 1);
      await t.gateway.tracking.flush();
      const r = await row('198.51.100.50');
      assert.deepEqual([Number(r.first_seen), Number(r.last_seen), Number(r.flows)], [at - 20_000, at + 20_000, 101], 'a later contact another gateway wrote is not moved back');
    });
  });
}
