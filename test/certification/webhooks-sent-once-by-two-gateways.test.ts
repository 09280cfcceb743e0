import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';
import { queueWebhookDelivery } from '../support/webhook-rows.ts';

/**
 * Two gateways on one PostgreSQL database, each asked to deliver now several times at
 * once while their own timers run too: every delivery reaches its sink exactly once. A
 * run asked for while one is sending starts after it (webhook-dispatcher.ts); the claim
 * (a conditional UPDATE of the next attempt) is what keeps two runs, on one gateway or
 * two, from sending one attempt twice.
 */
describe('webhook deliveries asked for at once on two gateways sharing PostgreSQL', () => {
  let a: TestGateway;
  let b: TestGateway;
  let url: string;
  const ids: string[] = [];
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      ids.push((JSON.parse(body) as { id: string }).id);
      // Some answers are slow, so that runs overlap.
      setTimeout(() => {
        res.statusCode = 204;
        res.end();
      }, ids.length % 3 === 0 ? 30 : 0);
    });
  });

  before(async () => {
    a = await startTestGateway('postgres', 'webhooks-once-a');
    b = await startTestGateway('postgres', 'webhooks-once-b', { vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hooks`;
  });
  after(async () => {
    await new Promise<void>((r) => sink.close(() => r()));
    await b?.dispose();
    await a?.dispose();
  });

  it('sends each of 60 deliveries once, whoever asked and however often', async () => {
    const db = a.gateway.context.store.db;
    const queue = (n: number) => queueWebhookDelivery(db, `whd_once_${n}`, url);
    const asks: Array<Promise<void>> = [];
    for (let round = 0; round < 3; round++) {
      for (let n = round * 20; n < round * 20 + 20; n++) await queue(n);
      for (const g of [a, b, a, b]) asks.push(g.gateway.certification.deliverWebhooks());
    }
    await Promise.all(asks);
    // A row a timer's run claimed is that run's to finish: ask again until none is left.
    for (let i = 0; i < 100; i++) {
      const pending = await db.selectFrom('webhook_deliveries').select('id').where('status', '!=', 'delivered').where('id', 'like', 'whd_once_%').execute();
      if (pending.length === 0) break;
      await Promise.all([a.gateway.certification.deliverWebhooks(), b.gateway.certification.deliverWebhooks()]);
    }
    assert.equal(ids.length, 60, `${ids.length} sends for 60 deliveries`);
    assert.equal(new Set(ids).size, 60);
  });
});
