import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { openContext, type Context } from '../../src/gateway/context.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { testScryptCost } from '../support/contexts.ts';
import { dialects, throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { runCli } from '../support/run-cli.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const configFor = (db: ThrowawayDatabase, extra: Partial<ConfigInput> = {}) => loadConfig({ env: {}, overrides: { ...extra, dataDir: db.dataDir, databaseUrl: db.databaseUrl, demo: false } });
const open = (db: ThrowawayDatabase, name: string, extra: Partial<ConfigInput> = {}, env: NodeJS.ProcessEnv = {}) => openContext(configFor(db, extra), createTestLogger(name), { actor: 'test', scryptCost: testScryptCost, env });
const cliArgs = (db: ThrowawayDatabase) => ['--data-dir', db.dataDir, ...(db.databaseUrl ? ['--database-url', db.databaseUrl] : [])];

/** Rows of every table that a refused process could have written to. */
async function rowCounts(ctx: Context): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['subscribers', 'vault_records', 'vault_master_keys', 'audit_log', 'nas_clients'] as const) {
    const { n } = await ctx.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    out[table] = Number(n);
  }
  return out;
}

for (const dialect of dialects) {
  describe(`the keyring and the database on ${dialect}`, () => {
    let db: ThrowawayDatabase;
    let ctx: Context;
    const elsewhere = mkdtempSync(join(tmpdir(), 'sideband-other-keyring-'));

    before(async () => {
      db = await throwawayDatabase(dialect);
      ctx = await open(db, `keyring-${dialect}`);
      await ctx.subscribers.add({ login: 'kim', password: 'kims-password' });
    });
    after(async () => {
      await ctx.close();
      await db.drop();
      rmSync(elsewhere, { recursive: true, force: true });
    });

    it('records the master key the records are sealed under, as the active one', async () => {
      assert.deepEqual((await ctx.vault.keys.list()).map((k) => [k.keyId, k.status]), [[ctx.keyring.active.id, 'active']]);
      assert.deepEqual(Object.keys(await ctx.vault.countByKey()), [ctx.keyring.active.id]);
    });

    it('refuses a keyring without the active key before writing anything, saying which key and where keyrings live', async () => {
      const before = await rowCounts(ctx);
      const other = join(elsewhere, 'other-keys.json');
      Keyring.create(other);
      await assert.rejects(open(db, 'wrong-keyring', { vault: { keyFile: other } }), (e: SidebandError) =>
        e.code === 'VAULT_KEYRING_MISMATCH' && e.message.includes(`active master key ${ctx.keyring.active.id}`) && e.message.includes(other) && /vault\.keyFile \(SIDEBAND_VAULT_KEY_FILE/.test(e.message));
      const wrongEnvKey = `mk-wrong:${Buffer.alloc(32, 7).toString('base64')}`;
      await assert.rejects(open(db, 'wrong-env-key', {}, { SIDEBAND_MASTER_KEY: wrongEnvKey }), (e: SidebandError) => e.code === 'VAULT_KEYRING_MISMATCH' && e.message.includes('SIDEBAND_MASTER_KEY does not hold'));
      const config = join(elsewhere, 'config.json');
      writeFileSync(config, JSON.stringify({ vault: { keyFile: other } }));
      const r = await runCli([...cliArgs(db), '--config', config, 'subscriber', 'add', 'lee', '--password', 'lees-password']);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, /error VAULT_KEYRING_MISMATCH/);
      assert.deepEqual(await rowCounts(ctx), before, 'nothing was written');
    });

    it('does not replace a missing keyring while the database needs a key', async () => {
      const path = ctx.keyring.file!;
      renameSync(path, `${path}.away`);
      try {
        await assert.rejects(open(db, 'no-keyring'), (e: SidebandError) => e.code === 'VAULT_KEY_MISSING' && e.message.includes(ctx.keyring.active.id));
        assert.equal(existsSync(path), false, 'no new keyring was made');
      } finally {
        renameSync(`${path}.away`, path);
      }
    });

    it('refuses a keyring its group or others may read, with the chmod that fixes it', async () => {
      const path = ctx.keyring.file!;
      chmodSync(path, 0o640);
      try {
        await assert.rejects(open(db, 'exposed-keyring'), (e: SidebandError) => e.code === 'VAULT_KEYRING_EXPOSED' && e.message.includes(`chmod 600 ${path}`) && e.message.includes('0640'));
      } finally {
        chmodSync(path, 0o600);
      }
    });

    it('a process that has not seen a rotation yet still seals under the new active key', async () => {
      const stale = await open(db, 'stale-process');
      try {
        const before = stale.vault.activeKey;
        const rotated = await ctx.vault.rotate();
        assert.notEqual(rotated.activeKey, before);
        assert.equal(stale.vault.activeKey, before, 'the other process has not looked yet');
        const sub = await stale.subscribers.add({ login: `late-${dialect}`, password: 'late-password' });
        const row = await stale.store.db.selectFrom('subscribers').innerJoin('vault_records', 'vault_records.id', 'subscribers.chap_record_id').select('vault_records.key_id').where('subscribers.id', '=', sub.id).executeTakeFirstOrThrow();
        assert.equal(row.key_id, rotated.activeKey);
        assert.equal(stale.vault.activeKey, rotated.activeKey, 'and seals under it from then on');
        await ctx.vault.retire(before);
        assert.deepEqual(Object.keys(await ctx.vault.countByKey()), [rotated.activeKey]);
      } finally {
        await stale.close();
      }
    });

    it('keys rotate --resume finishes a rotation interrupted between the keyring file and the database', async () => {
      const active = ctx.vault.activeKey;
      const written = ctx.keyring.addActiveKey(); // the crash comes here: the file has the key, the database not
      assert.equal(await ctx.vault.keys.activeId(), active);
      const r = await runCli([...cliArgs(db), '--json', 'keys', 'rotate', '--resume']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).activeKey, written.id);
      assert.equal(await ctx.vault.keys.activeId(), written.id);
      assert.deepEqual(Object.keys(await ctx.vault.countByKey()), [written.id]);
      const list = JSON.parse((await runCli([...cliArgs(db), '--json', 'keys', 'list'])).stdout) as { keys: Array<{ keyId: string; status: string; inKeyring: boolean }> };
      assert.deepEqual(list.keys.find((k) => k.keyId === active), { keyId: active, status: 'previous', inKeyring: true, records: 0 });
      assert.equal(list.keys.find((k) => k.keyId === written.id)?.status, 'active');
    });

    if (dialect === 'postgres') {
      it('keys retire waits for a seal in flight under the old key, and that seal ends under the active key', async () => {
        const stale = await open(db, 'sealing-process');
        try {
          const old = stale.vault.activeKey;
          const { activeKey } = await ctx.vault.rotate();
          let sealed!: () => void;
          const sealedSignal = new Promise<void>((r) => (sealed = r));
          let commit!: () => void;
          const gate = new Promise<void>((r) => (commit = r));
          let recordId = '';
          const sealing = stale.store.db.transaction().execute(async (tx) => {
            recordId = await stale.vault.seal(tx, 'nas-secret', { secret: 'a-secret-sealed-during-retire' });
            sealed();
            await gate;
          });
          await sealedSignal;
          const retiring = ctx.vault.retire(old);
          // Wait until the retirement is blocked on the row the seal holds, then let the seal commit.
          for (const deadline = Date.now() + 10_000; ; ) {
            assert.ok(Date.now() < deadline, 'the retirement never waited for the seal');
            const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like 'update "vault_master_keys"%'`.execute(ctx.store.db);
            if (waiting.rows[0]!.n > 0) break;
            await new Promise((r) => setImmediate(r));
          }
          commit();
          await sealing;
          await retiring;
          const row = await ctx.store.db.selectFrom('vault_records').select('key_id').where('id', '=', recordId).executeTakeFirstOrThrow();
          assert.equal(row.key_id, activeKey);
          assert.deepEqual(await ctx.vault.open<{ secret: string }>(recordId, 'operator-verify', 'test'), { secret: 'a-secret-sealed-during-retire' });
          assert.equal(await ctx.vault.keys.status(old), 'retired');
        } finally {
          await stale.close();
        }
      });
    }
  });

  describe(`a running gateway after keys rotate, on ${dialect}`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startTestGateway(dialect, `rotation-follow-${dialect}`, { channel: { enabled: false } });
    });
    after(async () => t.dispose());

    it('seals under the new key within seconds, without a restart', async () => {
      const vault = t.gateway.context.vault;
      const followed = vault.nextActiveKey(AbortSignal.timeout(10_000));
      const r = await runCli([...cliArgs(t.database), '--json', 'keys', 'rotate']);
      assert.equal(r.code, 0, r.stderr);
      const { activeKey } = JSON.parse(r.stdout) as { activeKey: string };
      assert.equal(await followed, activeKey);
      await t.gateway.context.network.addNas({ name: 'after-rotation', address: '192.0.2.77/32', secret: 'a-long-enough-shared-secret' });
      const row = await t.gateway.context.store.db.selectFrom('nas_clients').innerJoin('vault_records', 'vault_records.id', 'nas_clients.secret_record_id').select('vault_records.key_id').where('nas_clients.name', '=', 'after-rotation').executeTakeFirstOrThrow();
      assert.equal(row.key_id, activeKey);
    });
  });
}
