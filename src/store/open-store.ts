import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { SidebandError } from '../errors/sideband-error.ts';
import { failureKind } from './failure-kind.ts';
import { SidebandMigrations, latestMigration } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { openSqliteFile } from './sqlite-file.ts';
import { readsDirectlyWhenIdle } from './prepared-statement.ts';

// int8 (bigint) and numeric arrive as strings by default; every such column here holds
// milliseconds or minor units below 2^53, so a number is exact.
pg.types.setTypeParser(20, (v) => Number(v));

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Apply pending migrations on open (the gateway does; `db migrate` is the explicit way). */
  migrate?: boolean;
  /** Without migrate: refuse a schema older than this version (default), or leave that to the caller. */
  verifySchema?: boolean;
}

export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  /** Where the data lives, for messages: the SQLite path or the URL without its password. */
  readonly location: string;
  /**
   * SQLite only: the connection's statement cache, for hot statements run inside a group
   * commit's transaction (prepared-statement.ts). Null on PostgreSQL.
   */
  readonly sqlite: SqliteStatements | null;
  close(): Promise<void>;
}

export const sqlitePath = (dataDir: string): string => join(dataDir, 'sideband.sqlite');

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * better-sqlite3 compiles a statement on every prepare(); Kysely prepares each query
 * anew. The same few hundred query texts recur (a RADIUS request runs the same handful),
 * so compiled statements are kept by their SQL text. Safe because better-sqlite3 runs a
 * statement synchronously to completion: no two uses of one statement overlap.
 */
export interface SqliteStatements {
  prepare: BetterSqlite3.Database['prepare'];
  /** Whether a transaction is open on the connection (its uncommitted rows would be visible). */
  inTransaction: () => boolean;
  close: () => void;
}

function cachingStatements(file: BetterSqlite3.Database): SqliteStatements {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare: ((text: string) => {
      // Kysely opens every transaction with a plain (deferred) BEGIN. One that reads, then
      // writes after another process committed fails at once with SQLITE_BUSY ("database is
      // locked": its snapshot is stale, and busy_timeout is not consulted). IMMEDIATE takes
      // the write lock at BEGIN, where busy_timeout waits for the other process instead.
      const sql = text === 'begin' ? 'begin immediate' : text;
      let statement = statements.get(sql);
      if (!statement) {
        // Bounded: ad-hoc query texts (multi-row inserts of varying size) must not grow it for ever.
        if (statements.size >= 2000) statements.clear();
        statement = file.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    }) as BetterSqlite3.Database['prepare'],
    inTransaction: () => file.inTransaction,
    close: () => file.close(),
  };
}

/** Distinct statement texts one connection keeps prepared: ad-hoc texts (multi-row inserts of varying size) must not grow it for ever. */
const PREPARED_PER_CONNECTION = 1000;

/**
 * Runs every parameterised statement as a named prepared statement on its connection: the
 * server parses and plans a text once per connection instead of on each run (measured
 * here: 75 → 25 µs of server CPU for a one-row select, and half the client's), and the
 * Parse and Describe messages are no longer sent. Names are derived from the text, so the
 * same text on the same connection always reuses its statement.
 *
 * A statement prepared before a migration changed its table's columns fails with
 * SQLSTATE 0A000 ("cached plan must not change result type"); the connection then stops
 * naming statements and the error is marked retryable (failure-kind.ts), so a group
 * commit runs its transaction again. Behind PgBouncer, named statements need its
 * transaction mode with `max_prepared_statements` (1.21+) or session mode.
 */
function preparesStatements(client: pg.PoolClient): void {
  const names = new Map<string, string>();
  let stale = false;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (stale || typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || typeof callback === 'function') return query(text, values, callback);
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= PREPARED_PER_CONNECTION) return query(text, values);
      name = `sb${names.size.toString(36)}`;
      names.set(text, name);
    }
    return (query({ name, text, values }) as Promise<unknown>).catch((e: unknown) => {
      if ((e as { code?: unknown }).code === '0A000') {
        stale = true;
        (e as { retryable?: string }).retryable = 'stale-plan';
      }
      throw e;
    });
  };
}

/**
 * Limits on each of the gateway's PostgreSQL sessions, so that a gateway that froze or lost
 * its network in the middle of a transaction cannot stall the others on its row and key
 * locks (an adoption waits on another gateway's uncommitted key; a Stop on its session's
 * row lock) for as long as TCP takes to notice:
 * - a statement waits at most 5 s for a lock, then fails with 55P03: the group commit
 *   rejects that one job (its NAS or client asks again) and commits the rest
 *   (group-commit.ts), and the HTTP APIs answer 503 STORE_CONTENDED;
 * - the server ends a session idle inside a transaction for 30 s, which frees its locks
 *   (its COMMIT never came, so nothing of it lands). No transaction of ours waits on
 *   anything but the database between its statements.
 * Both sit above PostgreSQL's 1 s deadlock_timeout, which breaks deadlocks first. Each is
 * set when the session has none (0): one the role, the database, PGOPTIONS or the URL's
 * `options` sets is left as it is. Set on connect rather than as a startup option, which
 * PgBouncer refuses (behind PgBouncer in transaction mode, set them on the role).
 */
const SESSION_LIMITS = `select
  case when current_setting('lock_timeout') = '0' then set_config('lock_timeout', '5s', false) end,
  case when current_setting('idle_in_transaction_session_timeout') = '0' then set_config('idle_in_transaction_session_timeout', '30s', false) end`;

function limitsSession(client: pg.PoolClient): void {
  // The server ends a session it gave up on (idle in transaction, shut down) with an error
  // event on its client; a client checked out of the pool has no listener of the pool's,
  // so without this one that event would end the process instead of failing the query.
  client.on('error', () => {});
  // Queued before any query of the pool's user. A failure here is the connection's, and
  // its next query learns of it.
  client.query(SESSION_LIMITS).catch(() => {});
}

export async function openStore(options: StoreOptions): Promise<Store> {
  let db: Db;
  let dialect: Dialect;
  let location: string;
  let sqlite: SqliteStatements | null = null;
  if (options.databaseUrl) {
    dialect = 'postgres';
    location = redactUrl(options.databaseUrl);
    // TCP keepalive from 30 s idle: a server that vanished is noticed in minutes, not hours.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 5000, keepAlive: true, keepAliveInitialDelayMillis: 30_000 });
    // An idle client that loses its server emits 'error' on the pool; without a listener
    // that would crash the process instead of failing the next query.
    pool.on('error', () => {});
    pool.on('connect', (client) => {
      limitsSession(client);
      preparesStatements(client);
    });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    dialect = 'sqlite';
    location = sqlitePath(options.dataDir);
    let file: BetterSqlite3.Database;
    try {
      mkdirSync(options.dataDir, { recursive: true });
      file = openSqliteFile(location);
    } catch (e) {
      throw new SidebandError('STORE_UNREACHABLE', `Cannot open the SQLite database at ${location}: ${(e as Error).message}`, { cause: e });
    }
    sqlite = cachingStatements(file);
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    readsDirectlyWhenIdle(db, sqlite);
  }
  try {
    await sql`select 1`.execute(db);
  } catch (e) {
    await db.destroy().catch(() => {});
    throw new SidebandError('STORE_UNREACHABLE', `Cannot reach the database at ${location}: ${(e as Error).message}`, { cause: e });
  }
  const store: Store = { db, dialect, location, sqlite, close: () => db.destroy() };
  try {
    if (options.migrate) await migrateStore(store);
    else if (options.verifySchema !== false) await assertSchemaCurrent(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * Applies the migrations this version knows and the database lacks; returns their names.
 * A database already migrated further by a newer version (a rolling upgrade, where some
 * gateways still run the older one) is left as it is: migrations only add, so the older
 * version runs on the newer schema.
 */
export async function migrateStore(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: new SidebandMigrations(store.dialect) });
  if ((await migrator.getMigrations()).every((m) => m.executedAt !== undefined)) return [];
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // A table another session held (a pg_dump, a long report) past the migration's lock
    // wait: everything was rolled back, and the holder may be gone in a moment.
    const busy = failureKind(error) === 'lock-timeout';
    if (busy && attempt < MIGRATION_ATTEMPTS) {
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const why = busy ? ' (another session held a table it changes for 10 s, three times: a pg_dump or a long query? Run `sideband db migrate` when it is done)' : '';
    throw new SidebandError('STORE_MIGRATION_FAILED', `Migration ${failed} failed on ${store.location}: ${(error as Error).message}${why}`, { cause: error });
  }
}

/** Runs of the pending migrations that may meet a table held by another session. */
const MIGRATION_ATTEMPTS = 3;

async function assertSchemaCurrent(store: Store): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: new SidebandMigrations(store.dialect) });
  const applied = (await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name);
  if (!applied.includes(latestMigration)) {
    throw new SidebandError('STORE_SCHEMA_OUTDATED', `The database at ${store.location} is not at schema ${latestMigration}: run \`sideband db migrate\`.`);
  }
}
