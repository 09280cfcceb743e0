import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import type { ConfidentialRecord } from '../../src/provisioning/subscribers.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { Vault } from '../../src/vault/vault.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

const LICENCE = 'D1234567-TEST';

for (const dialect of dialects) {
  describe(`card vault on ${dialect}`, () => {
    let t: TestContext;
    const number = testCardNumber(1);
    const second = testCardNumber(2);

    before(async () => {
      t = await testContext(dialect, `card-vault-${dialect}`);
      await t.ctx.subscribers.add({ login: 'alice', password: 'correct horse', spendingLimit: 10_000 });
    });
    after(async () => t.dispose());

    it('seals a card and shows only the BIN and last four', async () => {
      const card = await t.ctx.subscribers.addCard('alice', { number, expiry: futureExpiry(), holderName: 'Alice Example', creditLimit: 50_000, licenceNumber: LICENCE });
      assert.equal(card.brand, 'visa');
      assert.equal(card.masked, `${number.slice(0, 6)}••••••${number.slice(-4)}`);
      const shown = JSON.stringify(await t.ctx.subscribers.show('alice'));
      assert.ok(!shown.includes(number), 'show must not carry the number');
      assert.ok(!shown.includes(LICENCE), 'show must not carry the licence number');
    });

    it('refuses the same card twice for one subscriber, and writes nothing', async () => {
      const before = await t.ctx.store.db.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      await assert.rejects(t.ctx.subscribers.addCard('alice', { number, expiry: futureExpiry(), holderName: 'Alice' }), (e: SidebandError) => e.code === 'VAULT_CARD_DUPLICATE' && !e.message.includes(number));
      const afterCount = await t.ctx.store.db.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(afterCount.n), Number(before.n));
    });

    it('refuses an invalid card number without echoing it', async () => {
      const bad = number.slice(0, -1) + String((Number(number.at(-1)) + 1) % 10);
      await assert.rejects(t.ctx.subscribers.addCard('alice', { number: bad, expiry: futureExpiry(), holderName: 'Alice' }), (e: SidebandError) => e.code === 'VAULT_CARD_INVALID' && !e.message.includes(bad));
      await assert.rejects(t.ctx.subscribers.addCard('alice', { number: second, expiry: '13/30', holderName: 'Alice' }), (e: SidebandError) => e.code === 'VAULT_EXPIRY_INVALID');
      await assert.rejects(t.ctx.subscribers.addCard('nobody', { number: second, expiry: futureExpiry(), holderName: 'N' }), (e: SidebandError) => e.code === 'SUBSCRIBER_NOT_FOUND');
    });

    it('decrypts for a stated purpose and audits every decryption', async () => {
      const card = await t.ctx.store.db.selectFrom('cards').selectAll().where('status', '=', 'active').executeTakeFirstOrThrow();
      const record = await t.ctx.vault.open<ConfidentialRecord>(card.record_id!, 'settlement-acquirer', 'test:acquirer');
      assert.equal(record.number, number);
      assert.equal(record.licenceNumber, LICENCE);
      const audit = await t.ctx.store.db.selectFrom('audit_log').selectAll().where('action', '=', 'vault.decrypt').where('subject_id', '=', card.record_id).execute();
      assert.equal(audit.length, 1);
      assert.match(audit[0]!.detail!, /settlement-acquirer/);
    });

    it('keeps the plaintext number and licence out of the database bytes', async () => {
      await t.ctx.subscribers.addCard('alice', { number: second, expiry: futureExpiry(), holderName: 'Alice Example', licenceNumber: LICENCE });
      let bytes: string;
      if (dialect === 'sqlite') {
        // The WAL holds the newest pages until a checkpoint; scan every file of the database.
        await sql`pragma wal_checkpoint(PASSIVE)`.execute(t.ctx.store.db);
        bytes = readdirSync(t.database.dataDir).filter((f) => f.startsWith('sideband.sqlite')).map((f) => readFileSync(join(t.database.dataDir, f)).toString('latin1')).join('');
      } else {
        const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(t.ctx.store.db);
        const parts: string[] = [];
        for (const { tablename } of tables.rows) {
          const rows = await sql<{ j: string }>`select row_to_json(x)::text as j from ${sql.table(tablename)} x`.execute(t.ctx.store.db);
          parts.push(...rows.rows.map((r) => r.j));
        }
        bytes = parts.join('\n');
        assert.ok(bytes.includes(number.slice(-4)), 'the scan sees the tables (last four is stored in clear)');
      }
      for (const secret of [number, second, LICENCE]) assert.ok(!bytes.includes(secret), 'a sealed value appears in clear in the database');
    });

    it('a record moved to another row fails to open (record id is associated data)', async () => {
      const [a, b] = await t.ctx.store.db.selectFrom('cards').select('record_id').where('status', '=', 'active').orderBy('created_at').execute();
      const rb = await t.ctx.store.db.selectFrom('vault_records').selectAll().where('id', '=', b!.record_id!).executeTakeFirstOrThrow();
      const original = await t.ctx.store.db.selectFrom('vault_records').selectAll().where('id', '=', a!.record_id!).executeTakeFirstOrThrow();
      await t.ctx.store.db.updateTable('vault_records').set({ ciphertext: rb.ciphertext, wrapped_key: rb.wrapped_key }).where('id', '=', a!.record_id!).execute();
      await assert.rejects(t.ctx.vault.open(a!.record_id!, 'operator-verify', 'test'), (e: SidebandError) => e.code === 'VAULT_DECRYPT_FAILED');
      await t.ctx.store.db.updateTable('vault_records').set({ ciphertext: original.ciphertext, wrapped_key: original.wrapped_key }).where('id', '=', a!.record_id!).execute();
    });

    it('rotation re-wraps every record under the new key, all stay decryptable, the old key can be retired', async () => {
      const oldKey = t.ctx.keyring.active.id;
      const records = await t.ctx.store.db.selectFrom('vault_records').select(['id', 'ciphertext']).execute();
      const progress: number[] = [];
      const result = await t.ctx.vault.rotate({}, (p) => progress.push(p.done));
      assert.equal(result.rewrapped, records.length);
      assert.equal(result.previousKey, oldKey);
      assert.deepEqual(await t.ctx.vault.countByKey(), { [t.ctx.keyring.active.id]: records.length });
      const after = await t.ctx.store.db.selectFrom('vault_records').select(['id', 'ciphertext']).execute();
      assert.deepEqual(after.map((r) => r.ciphertext).sort(), records.map((r) => r.ciphertext).sort(), 'only data keys are re-wrapped');
      await t.ctx.vault.retire(oldKey);
      // A gateway process that loaded the keyring before rotation picks the new key up from the file.
      const other = new Vault(t.ctx.store, Keyring.load(t.ctx.keyring.file!));
      for (const r of records) await other.open(r.id, 'operator-verify', 'test');
      const cards = await t.ctx.store.db.selectFrom('cards').select('record_id').where('status', '=', 'active').execute();
      const numbers = await Promise.all(cards.map((c) => t.ctx.vault.open<ConfidentialRecord>(c.record_id!, 'operator-verify', 'test').then((r) => r.number)));
      assert.deepEqual(numbers.sort(), [number, second].sort());
    });

    it('a record under a retired key fails with VAULT_KEY_RETIRED, and retiring a key in use is refused', async () => {
      const inUse = t.ctx.keyring.active.id;
      await t.ctx.vault.rotate();
      // Records sealed after the rotation are under the new key: put one back under the old one.
      const moved = await t.ctx.store.db.selectFrom('vault_records').select('id').where('kind', '=', 'chap-password').executeTakeFirstOrThrow();
      await t.ctx.store.db.updateTable('vault_records').set({ key_id: inUse }).where('id', '=', moved.id).execute();
      await assert.rejects(t.ctx.vault.retire(inUse), (e: SidebandError) => e.code === 'VAULT_KEY_IN_USE');
      await t.ctx.vault.retire(inUse, { force: true });
      const any = await t.ctx.store.db.selectFrom('vault_records').select('id').where('key_id', '=', inUse).executeTakeFirstOrThrow();
      await assert.rejects(t.ctx.vault.open(any.id, 'operator-verify', 'test'), (e: SidebandError) => e.code === 'VAULT_KEY_RETIRED');
    });

    it('removing a card destroys its sealed record', async () => {
      const card = (await t.ctx.subscribers.cards((await t.ctx.subscribers.show('alice')).id))[0]!;
      const row = await t.ctx.store.db.selectFrom('cards').select('record_id').where('id', '=', card.id).executeTakeFirstOrThrow();
      await t.ctx.subscribers.removeCard('alice', card.id);
      assert.equal(await t.ctx.store.db.selectFrom('vault_records').select('id').where('id', '=', row.record_id!).executeTakeFirst(), undefined);
      await assert.rejects(t.ctx.subscribers.removeCard('alice', card.id), (e: SidebandError) => e.code === 'CARD_NOT_FOUND');
    });
  });
}
