import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../../support/databases.ts';
import { openOneSession } from '../../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

/**
 * A flush asked for while the timer's runs (stop's final flush, a bench's settle) must
 * write what was counted after that one began, and what its refresh rule left: it used to
 * hand back the running flush, and those rows were never written at shutdown.
 */
for (const dialect of dialects) {
  describe(`a flush asked for while another runs, on ${dialect}`, () => {
    let t: TestGateway;
    let sessionId: string;
    let address: string;

    before(async () => {
      t = await startTestGateway(dialect, `tracking-flush-while-${dialect}`);
      ({ sessionId, address } = await openOneSession(t, 'otto'));
    });
    after(async () => t?.dispose());

    const observe = (destination: string, at: number) => {
      assert.deepEqual(t.gateway.tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: destination, at, flows: 1 }), { attributed: true, sessionId });
    };
    const stored = async () =>
      (await t.gateway.context.store.db.selectFrom('session_destinations').select(['destination', 'last_seen']).where('session_id', '=', sessionId).orderBy('destination').execute()).map((r) => [r.destination, Number(r.last_seen)]);

    it('writes what was counted after the running flush began, and what its refresh rule left', async () => {
      const at = Date.now() - 60_000;
      observe('198.51.100.1', at);
      observe('198.51.100.2', at);
      await t.gateway.tracking.flush();
      // The timer's kind of flush, left running: it takes only what is new or newest.
      observe('198.51.100.2', at + 1000);
      observe('198.51.100.1', at + 2000);
      const running = t.gateway.tracking.flush(60_000);
      observe('198.51.100.3', at + 3000);
      observe('198.51.100.2', at + 1500);
      await t.gateway.tracking.flush();
      await running;
      assert.deepEqual(await stored(), [['198.51.100.1', at + 2000], ['198.51.100.2', at + 1500], ['198.51.100.3', at + 3000]]);
    });
  });
}
