import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IDEMPOTENCY_LEASE_MS, IdempotencyKeys, completeClaim, completeResource, linkClaim, type IdempotencyClaim } from '../../src/certification/api/idempotency.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

const codeOf = (r: PromiseSettledResult<{ kind: string }>) => (r.status === 'fulfilled' ? r.value.kind : (r.reason as SidebandError).code);

for (const dialect of dialects) {
  describe(`idempotency keys on ${dialect}`, () => {
    let t: TestContext;
    let keys: IdempotencyKeys;
    before(async () => {
      t = await testContext(dialect, `idempotency-${dialect}`);
      keys = new IdempotencyKeys(t.ctx.store);
    });
    after(async () => t.dispose());

    const started = async (merchant: string, key: string, hash: string, now?: number): Promise<IdempotencyClaim> => {
      const s = await keys.begin(merchant, key, hash, now);
      assert.notEqual(s.kind, 'replay');
      return (s as { claim: IdempotencyClaim }).claim;
    };

    it('a concurrent duplicate gets IDEMPOTENCY_KEY_IN_PROGRESS; then the stored answer is replayed for 24 hours', async () => {
      const hash = IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('{}'));
      const [a, b] = await Promise.allSettled([keys.begin('mer_1', 'k1', hash), keys.begin('mer_1', 'k1', hash)]);
      assert.deepEqual([a, b].map(codeOf).sort(), ['IDEMPOTENCY_KEY_IN_PROGRESS', 'new']);
      const claim = ((a.status === 'fulfilled' ? a.value : (b as PromiseFulfilledResult<{ claim: IdempotencyClaim }>).value) as { claim: IdempotencyClaim }).claim;
      await t.ctx.store.db.transaction().execute((tx) => completeClaim(tx, claim, 201, '{"id":"auth_1"}'));
      assert.deepEqual(await keys.begin('mer_1', 'k1', hash), { kind: 'replay', status: 201, body: '{"id":"auth_1"}' });
      assert.equal((await keys.begin('mer_2', 'k1', hash)).kind, 'new', 'keys are per merchant');
      assert.equal((await keys.begin('mer_1', 'k1', hash, Date.now() + 25 * 3600_000)).kind, 'new', 'after 24 hours the key is free again');
    });

    it('the same key with another body is refused, whatever state the key is in', async () => {
      const hash = IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('{"amount":1}'));
      await started('mer_1', 'k-body', hash);
      await assert.rejects(keys.begin('mer_1', 'k-body', IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('{"amount":2}'))), { code: 'IDEMPOTENCY_KEY_REUSED' });
    });

    it('a fault before anything committed gives the key back, so the retry runs afresh', async () => {
      const hash = IdempotencyKeys.hash('POST', '/x', Buffer.from('1'));
      const claim = await started('mer_1', 'k2', hash);
      await keys.abandon(claim);
      assert.equal((await keys.begin('mer_1', 'k2', hash)).kind, 'new');
    });

    it('a key that guarded a commit is never given back: the retry resumes it, at once after a fault', async () => {
      const hash = IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from('2'));
      const claim = await started('mer_1', 'k3', hash);
      await t.ctx.store.db.transaction().execute((tx) => linkClaim(tx, claim, 'auth_linked'));
      await keys.abandon(claim);
      const retry = await keys.begin('mer_1', 'k3', hash);
      assert.equal(retry.kind, 'resume');
      assert.equal((retry as { claim: IdempotencyClaim }).claim.resourceId, 'auth_linked');
      // Whoever finishes the operation answers the key.
      await t.ctx.store.db.transaction().execute((tx) => completeResource(tx, 'auth_linked', 201, '{"id":"auth_linked"}'));
      assert.deepEqual(await keys.begin('mer_1', 'k3', hash), { kind: 'replay', status: 201, body: '{"id":"auth_linked"}' });
    });

    it('a key left in progress by a crash is taken over when its lease ends, and the dead holder can no longer answer it', async () => {
      const hash = IdempotencyKeys.hash('POST', '/x', Buffer.from('3'));
      const now = Date.now();
      const dead = await started('mer_1', 'k4', hash, now);
      await assert.rejects(keys.begin('mer_1', 'k4', hash, now + 1000), { code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
      const heir = await started('mer_1', 'k4', hash, now + IDEMPOTENCY_LEASE_MS + 1);
      await assert.rejects(t.ctx.store.db.transaction().execute((tx) => completeClaim(tx, dead, 201, '{"by":"dead"}')), { code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
      await t.ctx.store.db.transaction().execute((tx) => completeClaim(tx, heir, 201, '{"by":"heir"}'));
      assert.deepEqual(await keys.begin('mer_1', 'k4', hash), { kind: 'replay', status: 201, body: '{"by":"heir"}' });
    });

    it('a refusal is stored only while the key guards nothing committed', async () => {
      const hash = IdempotencyKeys.hash('POST', '/x', Buffer.from('4'));
      const claim = await started('mer_1', 'k5', hash);
      await keys.record(claim, 404, '{"error":{}}');
      assert.deepEqual(await keys.begin('mer_1', 'k5', hash), { kind: 'replay', status: 404, body: '{"error":{}}' });
      const linked = await started('mer_1', 'k6', hash);
      await t.ctx.store.db.transaction().execute((tx) => linkClaim(tx, linked, 'auth_x'));
      await keys.record(linked, 409, '{"error":{}}');
      await assert.rejects(keys.begin('mer_1', 'k6', hash), { code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    });
  });
}
