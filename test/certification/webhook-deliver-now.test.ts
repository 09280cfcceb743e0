import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/databases.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';
import { queueWebhookDelivery } from '../support/webhook-rows.ts';

/**
 * "Deliver now" (the tests' and an operator's) asked while the timer's delivery run is
 * still sending must also send what became due after that run looked: it used to hand
 * back the running run, and a delivery made due meanwhile waited for the next timer (seen
 * as a flaky CAMARA notification test).
 */
for (const dialect of dialects) {
  describe(`webhook delivery asked for while a delivery run is sending, on ${dialect}`, () => {
    let t: TestGateway;
    let url: string;
    const bodies: string[] = [];
    let held: ServerResponse | null = null;
    let firstArrived: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        // The first delivery is held open, so that its run is still sending.
        if (bodies.length === 1) {
          held = res;
          firstArrived();
          return;
        }
        res.statusCode = 204;
        res.end();
      });
    });

    before(async () => {
      t = await startTestGateway(dialect, `webhook-deliver-now-${dialect}`);
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hooks`;
    });
    after(async () => {
      held?.end();
      await new Promise<void>((r) => sink.close(() => r()));
      await t?.dispose();
    });

    const queue = (id: string) => queueWebhookDelivery(t.gateway.context.store.db, id, url);

    it('sends what became due after the running run looked, once that run is done', async () => {
      await queue('whd_first');
      const running = t.gateway.certification.deliverWebhooks();
      await arrived;
      await queue('whd_second');
      const now = t.gateway.certification.deliverWebhooks();
      held!.statusCode = 204;
      held!.end();
      await running;
      await now;
      assert.deepEqual(bodies.map((b) => (JSON.parse(b) as { id: string }).id), ['whd_first', 'whd_second']);
      const statuses = await t.gateway.context.store.db.selectFrom('webhook_deliveries').select(['id', 'status']).orderBy('id').execute();
      assert.deepEqual(statuses, [
        { id: 'whd_first', status: 'delivered' },
        { id: 'whd_second', status: 'delivered' },
      ]);
    });
  });
}
