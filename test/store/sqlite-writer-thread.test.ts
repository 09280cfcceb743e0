import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { failureKind } from '../../src/store/failure-kind.ts';
import { openStore, sqlitePath, type Store } from '../../src/store/open-store.ts';
import { SqliteWriterError, SqliteWriterThread } from '../../src/store/sqlite-writer.ts';
import { openOneSession } from '../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const insert = (id: number) => ({ sql: 'insert into notes (id, body) values (?, ?)', values: [id, `note ${id}`] });

describe('the SQLite writer thread', () => {
  let dir: string;
  let store: Store;
  let writer: SqliteWriterThread;
  let reader: BetterSqlite3.Database;
  const ids = () => reader.prepare('select id from notes order by id').pluck().all();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-writer-thread-'));
    store = await openStore({ dataDir: dir, migrate: false, verifySchema: false });
    await sql`create table notes (id integer primary key, body text not null)`.execute(store.db);
    writer = new SqliteWriterThread(store);
    // A connection of its own: what it reads is what reached the file.
    reader = new BetterSqlite3(sqlitePath(dir), { readonly: true });
  });
  after(async () => {
    await writer?.close();
    reader?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits a batch as one transaction and answers the rows it changed', async () => {
    assert.equal(await writer.transaction([[insert(1), insert(2)], [insert(3)]]), 3);
    assert.deepEqual(ids(), [1, 2, 3]);
  });

  it('writes nothing of a batch whose statement fails, and passes SQLite’s code on', async () => {
    const failed = await writer.transaction([[insert(4)], [insert(2)], [insert(6)]]).then(
      () => assert.fail('a duplicate key must fail the batch'),
      (e: unknown) => e,
    );
    assert.ok(failed instanceof SqliteWriterError);
    assert.equal(failed.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.equal(failureKind(failed), 'unique-violation');
    assert.deepEqual(ids(), [1, 2, 3], 'the failed batch’s first part was rolled back, and its last never ran');
    // The thread goes on after a failed batch.
    assert.equal(await writer.transaction([[insert(4)]]), 1);
  });

  it('ends a batch whose parts could not all be made, and keeps nothing of it', async () => {
    function* parts() {
      yield [insert(7)];
      throw new Error('the caller failed while making a part');
    }
    await assert.rejects(writer.transaction(parts()), /the caller failed/);
    // The abandoned transaction no longer holds the write lock: another connection writes.
    await sql`insert into notes (id, body) values (8, 'from the event loop')`.execute(store.db);
    assert.deepEqual(ids(), [1, 2, 3, 4, 8]);
    await sql`delete from notes where id = 8`.execute(store.db);
  });

  // Each of the next two left the thread's transaction, and so SQLite's write lock, open
  // after the batch had failed (found by a review): the event loop's next write then spun
  // in busy_timeout. A connection that does not wait shows who holds the lock.
  const writesAtOnce = () => {
    const other = new BetterSqlite3(sqlitePath(dir));
    other.pragma('busy_timeout = 0');
    try {
      other.prepare('insert into notes (id, body) values (?, ?)').run(100, 'at once');
      other.prepare('delete from notes where id = 100').run();
    } finally {
      other.close();
    }
  };

  it('has rolled back a batch abandoned mid-way by the time it fails', async () => {
    // Parts big enough that the thread is still writing when the caller gives up.
    const big = (from: number) => Array.from({ length: 2000 }, (_, i) => insert(from + i));
    function* parts() {
      yield big(10_000);
      yield big(20_000);
      yield big(30_000);
      throw new Error('the caller failed while making a part');
    }
    await assert.rejects(writer.transaction(parts()), /the caller failed/);
    writesAtOnce();
    assert.deepEqual(ids(), [1, 2, 3, 4]);
  });

  it('fails a batch whose last part cannot be sent to the thread, and leaves no transaction open', async () => {
    await assert.rejects(writer.transaction([[insert(9)], [{ sql: 'insert into notes (id, body) values (?, ?)', values: [10, () => 'not a value'] }]]), /could not be cloned/);
    writesAtOnce();
    assert.deepEqual(ids(), [1, 2, 3, 4]);
    assert.equal(await writer.transaction([[insert(11)]]), 1, 'the next batch opens its own transaction');
    await sql`delete from notes where id = 11`.execute(store.db);
  });

  it('starts a thread again after close', async () => {
    await writer.close();
    assert.equal(await writer.transaction([[insert(5)]]), 1);
    assert.deepEqual(ids(), [1, 2, 3, 4, 5]);
  });

  it('loses nothing it acknowledged and keeps no part of a batch when the process is killed mid-write', async () => {
    const killedDir = mkdtempSync(join(tmpdir(), 'sideband-writer-killed-'));
    try {
      const fixture = new URL('./fixtures/writes-until-killed.ts', import.meta.url).pathname;
      for (const afterBatches of [1, 3, 6]) {
        const child = spawn(process.execPath, ['--conditions=sideband-source', '--import', 'tsx', fixture, killedDir], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        // Killed once it has said `batch N`: the next batch is then on its way to the
        // thread, or the event loop's write after it.
        await new Promise<void>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`the writer exited by itself (${code}): ${stderr}`)));
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes(`batch ${afterBatches}\n`)) resolve();
          });
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        const file = new BetterSqlite3(sqlitePath(killedDir));
        try {
          assert.equal(file.pragma('integrity_check', { simple: true }), 'ok');
          const told = (word: string) => [...out.matchAll(new RegExp(`^${word} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
          const byBatch = new Map((file.prepare('select batch, count(*) as n from notes group by batch').all() as Array<{ batch: number; n: number }>).map((r) => [r.batch, r.n]));
          for (const [batch, n] of byBatch) assert.equal(n, 10_000, `batch ${batch} is whole or absent`);
          for (const batch of told('batch')) assert.equal(byBatch.get(batch), 10_000, `batch ${batch} was acknowledged`);
          const acks = new Set(file.prepare('select batch from acks').pluck().all() as number[]);
          for (const batch of told('ack')) assert.ok(acks.has(batch), `ack ${batch} was acknowledged`);
        } finally {
          file.close();
        }
        rmSync(killedDir, { recursive: true, force: true });
      }
    } finally {
      rmSync(killedDir, { recursive: true, force: true });
    }
  });

  for (const mode of ['idle', 'after-batch']) {
    it(`does not keep a process alive while it waits for work (${mode})`, () => {
      const fixture = new URL('./fixtures/idle-writer-thread.ts', import.meta.url).pathname;
      // A generous limit: the process exits within a second or so, or never.
      const run = spawnSync(process.execPath, ['--conditions=sideband-source', '--import', 'tsx', fixture, mode], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.signal, null, `the process did not exit by itself; stderr: ${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'done');
    });
  }
});

describe('a destination flush while another connection holds SQLite’s write lock', () => {
  let t: TestGateway;
  let other: BetterSqlite3.Database | undefined;

  before(async () => {
    t = await startTestGateway('sqlite', 'sqlite-writer-thread');
  });
  after(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    await t?.dispose();
  });

  // On the event loop's connection, the flush's BEGIN IMMEDIATE spun in busy_timeout with
  // the loop held: nothing else ran, not even the code that would release the lock, and
  // the flush failed after five seconds. On the writer thread the loop carries on.
  it('leaves the event loop serving, makes the gateway’s own queries wait their turn, and commits once the lock is free', async () => {
    const { sessionId, address } = await openOneSession(t, 'wanda');
    const at = Date.now() - 1000;
    assert.deepEqual(t.gateway.tracking.attribute({ exporter: 'bng', sourceAddress: address, destinationAddress: '203.0.113.7', at, flows: 1 }), { attributed: true, sessionId });

    other = new BetterSqlite3(t.gateway.context.store.location);
    other.exec('BEGIN IMMEDIATE');
    let flushed = false;
    const flushing = t.gateway.tracking.flush().then(() => (flushed = true));
    // A query through the store waits for the flush (which holds its connection), and
    // so cannot answer while the lock is held.
    let read = false;
    const reading = t.gateway.context.store.db.selectFrom('session_destinations').select('destination').where('session_id', '=', sessionId).execute().then((rows) => ((read = true), rows));

    // The operator API answers over a real socket meanwhile.
    const metrics = await fetch(`http://${t.gateway.listen.operatorHttp}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /sideband_flows_attributed_total 1\b/);
    assert.equal(flushed, false, 'the flush cannot commit while the other connection holds the lock');
    assert.equal(read, false, 'a query waits for the flush instead of running beside it');

    other.exec('COMMIT');
    await flushing;
    assert.deepEqual(await reading, [{ destination: '203.0.113.7' }]);
    assert.equal(t.gateway.tracking.pendingWriteCount, 0, 'nothing was kept as a failed write');
  });
});
