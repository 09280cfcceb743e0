import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { openStore, sqlitePath, type Store } from '../../src/store/open-store.ts';

// Another process (the command line beside a running gateway) writing between a
// transaction's first read and its first write: with a deferred BEGIN the transaction's
// snapshot is stale and its write fails at once with "database is locked", whatever
// busy_timeout says. Seen under load in test/certification/crash-under-load.
describe('SQLite write transactions against another connection', () => {
  let dir: string;
  let store: Store;
  let other: BetterSqlite3.Database;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-sqlite-tx-'));
    store = await openStore({ dataDir: dir, migrate: false, verifySchema: false });
    await sql`create table counter (id integer primary key, n integer not null)`.execute(store.db);
    await sql`insert into counter (id, n) values (1, 0)`.execute(store.db);
    other = new BetterSqlite3(sqlitePath(dir));
    // The other connection does not wait: it shows at once who holds the write lock.
    other.pragma('busy_timeout = 0');
  });
  after(async () => {
    other?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a transaction that read first holds the write lock: a later writer waits, and the transaction commits', async () => {
    const outcome = await store.db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ n: number }>`select n from counter where id = 1`.execute(tx);
      // The other connection tries to commit between our read and our write.
      let contender: string;
      try {
        other.prepare('update counter set n = n + 100 where id = 1').run();
        contender = 'committed';
      } catch (e) {
        contender = (e as { code?: string }).code ?? 'error';
      }
      await sql`update counter set n = ${rows[0]!.n + 1} where id = 1`.execute(tx);
      return contender;
    });
    assert.equal(outcome, 'SQLITE_BUSY', 'the later writer is the one that must wait');
    assert.equal((other.prepare('select n from counter where id = 1').get() as { n: number }).n, 1);
  });
});
