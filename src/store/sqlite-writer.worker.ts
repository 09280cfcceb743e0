// The writer thread's side of sqlite-writer.ts: its own connection to the gateway's SQLite
// file, on which it runs each batch of statements it is sent as one transaction.
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { openSqliteFile } from './sqlite-file.ts';
import type { WriterReply, WriterRequest } from './sqlite-writer.ts';

const port = parentPort!;
const { location } = workerData as { location: string };

let file: BetterSqlite3.Database | null = null;
/** The connection, opened now or, after a failure (a full disk, say), tried again with each batch. */
function connection(): BetterSqlite3.Database {
  return (file ??= openSqliteFile(location));
}
try {
  connection();
} catch {
  // The first batch tries again, and fails with the reason if it still cannot open.
}

// Texts are few (a full chunk and the last, shorter one of each batch), so kept for good.
const prepared = new Map<string, BetterSqlite3.Statement>();
function statement(db: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let s = prepared.get(sql);
  if (!s) prepared.set(sql, (s = db.prepare(sql)));
  return s;
}

function failure(id: number, e: unknown): WriterReply {
  const { message, code } = e as { message?: unknown; code?: unknown };
  return { id, ok: false, message: typeof message === 'string' ? message : String(e), code: typeof code === 'string' ? code : undefined };
}

/** The batch whose transaction is open, and the rows it changed so far. */
let open: { id: number; changes: number } | null = null;
/** A batch that failed: its remaining parts are ignored (its answer is sent). */
let failed = 0;

function run(request: WriterRequest): WriterReply | null {
  if (request.id === failed) return null;
  let db: BetterSqlite3.Database;
  try {
    db = connection();
  } catch (e) {
    failed = request.id;
    return failure(request.id, e);
  }
  if (request.abandon) {
    open = null;
    if (db.inTransaction) db.exec('ROLLBACK');
    return failure(request.id, new Error('the batch was abandoned before its last part'));
  }
  try {
    if (open?.id !== request.id) {
      // IMMEDIATE takes the write lock at BEGIN, where busy_timeout applies (see open-store.ts).
      db.exec('BEGIN IMMEDIATE');
      open = { id: request.id, changes: 0 };
    }
    for (const s of request.statements) open.changes += statement(db, s.sql).run(s.values).changes;
    if (!request.last) return null;
    const { changes } = open;
    open = null;
    db.exec('COMMIT');
    return { id: request.id, ok: true, changes };
  } catch (e) {
    open = null;
    failed = request.id;
    if (db.inTransaction) db.exec('ROLLBACK');
    return failure(request.id, e);
  }
}

port.on('message', (message: WriterRequest | 'close') => {
  if (message === 'close') {
    file?.close();
    port.close();
    return;
  }
  const reply = run(message);
  if (reply) port.postMessage(reply);
});
