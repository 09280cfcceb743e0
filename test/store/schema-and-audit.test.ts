import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { appendAudit } from '../../src/store/audit-log.ts';
import { migrateStore, openStore } from '../../src/store/open-store.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

for (const dialect of dialects) {
  describe(`store on ${dialect}`, () => {
    let t: TestContext;
    before(async () => {
      t = await testContext(dialect, `store-${dialect}`);
    });
    after(async () => t.dispose());

    it('migrations are versioned and re-running them applies nothing', async () => {
      assert.deepEqual(await migrateStore(t.ctx.store), []);
    });

    it('the audit log is append-only: the database refuses update and delete', async () => {
      await appendAudit(t.ctx.store.db, { actor: 'test', action: 'test.append', subjectType: 'test', detail: { n: 1 } });
      await assert.rejects(t.ctx.store.db.updateTable('audit_log').set({ actor: 'mallory' }).execute(), /append-only/);
      await assert.rejects(t.ctx.store.db.deleteFrom('audit_log').execute(), /append-only/);
      const rows = await t.ctx.store.db.selectFrom('audit_log').selectAll().where('action', '=', 'test.append').execute();
      assert.equal(rows.length, 1);
    });

    it('a failure inside a transaction leaves nothing half-written', async () => {
      await assert.rejects(t.ctx.subscribers.add({ login: 'bob', password: 'short' }), (e: SidebandError) => e.code === 'SUBSCRIBER_PASSWORD_WEAK');
      await t.ctx.subscribers.add({ login: 'bob', password: 'long enough' });
      const records = await t.ctx.store.db.selectFrom('vault_records').select('id').execute();
      await assert.rejects(t.ctx.subscribers.add({ login: 'bob', password: 'long enough' }), (e: SidebandError) => e.code === 'SUBSCRIBER_LOGIN_TAKEN');
      assert.equal((await t.ctx.store.db.selectFrom('vault_records').select('id').execute()).length, records.length, 'the second add sealed nothing');
    });

    it('money columns hold integer minor units and read back as numbers', async () => {
      const s = await t.ctx.subscribers.setLimit('bob', { spendingLimit: 999_999_999_999 });
      assert.equal(s.spendingLimit, 999_999_999_999);
      assert.equal(typeof s.spendingLimit, 'number');
      await assert.rejects(t.ctx.subscribers.setLimit('bob', { spendingLimit: 1.5 }), (e: SidebandError) => e.code === 'AMOUNT_INVALID');
      await assert.rejects(t.ctx.subscribers.setLimit('bob', { spendingLimit: -1 }), (e: SidebandError) => e.code === 'AMOUNT_INVALID');
    });

    it('pools may not overlap; NAS secrets must be long', async () => {
      await t.ctx.network.addPool({ name: 'p1', cidr: '192.0.2.0/25' });
      await assert.rejects(t.ctx.network.addPool({ name: 'p2', cidr: '192.0.2.64/26' }), (e: SidebandError) => e.code === 'POOL_OVERLAP');
      await assert.rejects(t.ctx.network.addPool({ name: 'p3', cidr: '192.0.2.129/25' }), (e: SidebandError) => e.code === 'CIDR_INVALID');
      await assert.rejects(t.ctx.network.addNas({ name: 'n1', address: '127.0.0.1', secret: 'short' }), (e: SidebandError) => e.code === 'NAS_SECRET_WEAK');
      await assert.rejects(t.ctx.network.addNas({ name: 'n1', address: '127.0.0.1', secret: 'a-long-enough-secret', pool: 'none' }), (e: SidebandError) => e.code === 'POOL_NOT_FOUND');
      const nas = await t.ctx.network.addNas({ name: 'n1', address: '127.0.0.1', secret: 'a-long-enough-secret', pool: 'p1' });
      assert.equal(nas.address, '127.0.0.1/32');
      assert.equal(nas.pool, 'p1');
    });
  });
}

describe('an unreachable database', () => {
  it('is a clear STORE_UNREACHABLE error naming the location without its password', async () => {
    await assert.rejects(
      openStore({ dataDir: '/nonexistent', databaseUrl: 'postgres://user:hunter2@127.0.0.1:1/none' }),
      (e: SidebandError) => e.code === 'STORE_UNREACHABLE' && e.message.includes('127.0.0.1:1') && !e.message.includes('hunter2'),
    );
    await assert.rejects(openStore({ dataDir: '/etc/hostname/not-a-directory' }), (e: SidebandError) => e.code === 'STORE_UNREACHABLE');
  });
});
