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
  });
}
