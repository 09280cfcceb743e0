import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdempotencyKeys } from '../../src/certification/api/idempotency.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

for (const dialect of dialects) {
  describe(`idempotency keys on ${dialect}`, () => {
    let t: TestContext;
    let keys: IdempotencyKeys;
    before(async () => {
      t = await testContext(dialect, `idempotency-${dialect}`);
      keys = new IdempotencyKeys(t.ctx.store);
    });
    after(async () => t.dispose());

    it('a concurrent duplicate gets IDEMPOTENCY_KEY_IN_PROGRESS; then the stored answer is replayed for 24 hours', async () => {
      const hash = IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('{}'));
      const [a, b] = await Promise.allSettled([keys.begin('mer_1', 'k1', hash), keys.begin('mer_1', 'k1', hash)]);
      const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? r.value.kind : (r.reason as SidebandError).code)).sort();
      assert.deepEqual(outcomes, ['IDEMPOTENCY_KEY_IN_PROGRESS', 'new']);
      await keys.finish('mer_1', 'k1', 201, '{"id":"auth_1"}');
      assert.deepEqual(await keys.begin('mer_1', 'k1', hash), { kind: 'replay', status: 201, body: '{"id":"auth_1"}' });
      assert.deepEqual(await keys.begin('mer_2', 'k1', hash), { kind: 'new' }, 'keys are per merchant');
      assert.deepEqual(await keys.begin('mer_1', 'k1', hash, Date.now() + 25 * 3600_000), { kind: 'new' }, 'after 24 hours the key is free again');
    });

    it('a server error releases the key so the retry runs', async () => {
      const hash = IdempotencyKeys.hash('POST', '/x', Buffer.from('1'));
      await keys.begin('mer_1', 'k2', hash);
      await keys.finish('mer_1', 'k2', 500, '');
      assert.deepEqual(await keys.begin('mer_1', 'k2', hash), { kind: 'new' });
    });
  });
}
