import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { buildOperatorApi } from '../../src/operator/operator-api.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

for (const dialect of dialects) {
  describe(`the operator API's error answers on ${dialect}`, () => {
    let t: TestContext;
    let app: FastifyInstance;
    let token: string;

    before(async () => {
      t = await testContext(dialect, `operator-retry-after-${dialect}`);
      token = (await t.ctx.tokens.issue('noc')).token;
      // A part of the gateway whose routes fail the ways a busy one does.
      app = buildOperatorApi(t.ctx, new Metrics(), [
        (v1) => {
          v1.get('/busy', async () => {
            throw new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', 'Still in progress; retry in 7 s.', { retryAfterSeconds: 7 });
          });
          v1.get('/gone', async () => {
            throw new SidebandError('NOT_FOUND', 'Nothing here.');
          });
          v1.post('/touch', async () => {
            await t.ctx.store.db.updateTable('subscribers').set({ status: 'active' }).where('login', '=', 'contended').execute();
            return { ok: true };
          });
        },
      ]);
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await t?.dispose();
    });

    it('send Retry-After when the error says when a retry may succeed, as the merchant API does, and only then', async () => {
      const busy = await app.inject({ method: 'GET', url: '/v1/busy', headers: { authorization: `Bearer ${token}` } });
      assert.equal(busy.statusCode, 409);
      assert.equal(busy.headers['retry-after'], '7');
      assert.equal(busy.json().error.code, 'IDEMPOTENCY_KEY_IN_PROGRESS');
      const gone = await app.inject({ method: 'GET', url: '/v1/gone', headers: { authorization: `Bearer ${token}` } });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.headers['retry-after'], undefined);
    });

    if (dialect === 'postgres') {
      it('answer 503 STORE_CONTENDED with Retry-After when a row stayed locked by another gateway past lock_timeout, and write nothing', async () => {
        await t.ctx.subscribers.add({ login: 'contended', password: 'contended-password' });
        let release!: () => void;
        let locked!: () => void;
        const holding = new Promise<void>((r) => (locked = r));
        // Another gateway, stuck with the subscriber's row locked.
        const other = t.ctx.store.db.transaction().execute(async (tx) => {
          await tx.selectFrom('subscribers').select('id').where('login', '=', 'contended').forUpdate().execute();
          locked();
          await new Promise<void>((r) => (release = r));
        });
        await holding;
        const res = await app.inject({ method: 'POST', url: '/v1/touch', headers: { authorization: `Bearer ${token}` } });
        release();
        await other;
        assert.equal(res.statusCode, 503);
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(res.json().error.code, 'STORE_CONTENDED');
        const again = await app.inject({ method: 'POST', url: '/v1/touch', headers: { authorization: `Bearer ${token}` } });
        assert.equal(again.statusCode, 200, 'the retry, once the lock is gone, succeeds');
      });
    }
  });
}
