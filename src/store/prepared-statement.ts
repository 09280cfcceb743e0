import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { Db, Dialect, SqliteStatements, Tx } from './open-store.ts';

/** Which database a connection or transaction talks to, for code handed only a `Tx`. */
export const dialectOf = (db: Db | Tx): Dialect => (db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');

/** SQLite transactions whose connection hot statements may use directly (see runsDirectlyOn). */
const direct = new WeakMap<Db | Tx, SqliteStatements>();

/**
 * Inside this transaction, run prepared statements on SQLite's connection itself instead of
 * through Kysely's executor (its connection lock, result transforms and promises cost more
 * than the statement). Only for a transaction that holds the one connection for its whole
 * length, as the group commit's do: outside one, Kysely's lock keeps a read from seeing
 * another transaction's uncommitted rows.
 */
export function runsDirectlyOn(tx: Tx, sqlite: SqliteStatements): void {
  direct.set(tx, sqlite);
}

/** SQLite stores whose reads outside a transaction may skip Kysely's lock while the connection is idle (see readsDirectlyWhenIdle). */
const idle = new WeakMap<Db | Tx, SqliteStatements>();

/**
 * A prepared read on `db` itself (not in a transaction) runs on SQLite's connection
 * directly while no transaction is open on it, instead of queueing for Kysely's
 * connection lock: it sees the committed rows. Where the lock was taken for a transaction
 * not yet begun (or by the writer thread's flush, which writes on its own connection), the
 * read is answered as if it had come just before that transaction, which nobody has been
 * told of yet. While a transaction is open (a group commit's batch, between its
 * statements) it still waits for the lock, so it never reads uncommitted rows. Only
 * statements that cannot write go this way (better-sqlite3's `readonly`): a write must
 * take the lock. Nothing in Sideband streams from the connection (`stream()` would hold
 * the lock outside a transaction while direct reads ran beside it). Signed purchases on
 * SQLite, whose key, holder and NAT reads are of this kind: 7–10 % more approvals a
 * second at concurrency 8 and 32 (docs/speed.md).
 */
export function readsDirectlyWhenIdle(db: Db, sqlite: SqliteStatements): void {
  idle.set(db, sqlite);
}

/**
 * A statement on a hot path (every RADIUS request runs a few), written once as SQL text
 * with `?` placeholders instead of through Kysely's builder: the builder builds and
 * compiles its query tree on every call, which cost more CPU per Access-Request than
 * SQLite itself. The text is fixed, so better-sqlite3 prepares it once (open-store.ts
 * keeps prepared statements by text). Only plain SQL that both dialects read alike;
 * PostgreSQL gets `$1, $2 …` for the `?`s.
 */
export class PreparedStatement<Row = Record<string, unknown>> {
  private readonly text: Record<Dialect, string>;

  constructor(sql: string) {
    let n = 0;
    this.text = { sqlite: sql, postgres: sql.replace(/\?/g, () => `$${++n}`) };
  }

  async all(db: Db | Tx, dialect: Dialect, parameters: readonly unknown[]): Promise<Row[]> {
    const free = dialect === 'sqlite' ? idle.get(db) : undefined;
    if (free && !free.inTransaction()) {
      const statement = free.prepare(this.text.sqlite);
      if (statement.readonly) return statement.all(parameters) as Row[];
    }
    const sqlite = dialect === 'sqlite' ? direct.get(db) : undefined;
    if (sqlite) {
      const statement = sqlite.prepare(this.text.sqlite);
      if (statement.reader) return statement.all(parameters) as Row[];
      statement.run(parameters);
      return [];
    }
    return (await db.executeQuery<Row>(CompiledQuery.raw(this.text[dialect], [...parameters]))).rows;
  }

  async first(db: Db | Tx, dialect: Dialect, parameters: readonly unknown[]): Promise<Row | undefined> {
    return (await this.all(db, dialect, parameters))[0];
  }

  /** Runs a write; returns how many rows it changed. */
  async run(db: Db | Tx, dialect: Dialect, parameters: readonly unknown[]): Promise<number> {
    const sqlite = dialect === 'sqlite' ? direct.get(db) : undefined;
    if (sqlite) return sqlite.prepare(this.text.sqlite).run(parameters).changes;
    return Number((await db.executeQuery(CompiledQuery.raw(this.text[dialect], [...parameters]))).numAffectedRows ?? 0);
  }
}

/** Every column of a table, checked by the compiler: a column added to the row type and left out here fails to build. */
export const allColumns = <Row extends object>(columns: Record<keyof Row & string, true>): Array<keyof Row & string> => Object.keys(columns) as Array<keyof Row & string>;

/** An INSERT of rows into `table`, its columns in this order; `values` reads them from a row object. */
export class PreparedInsert<Row extends object> {
  /** One statement per row count used: a ledger transaction writes two rows, rarely more. */
  private readonly statements = new Map<number, PreparedStatement>();

  constructor(
    private readonly table: string,
    private readonly columns: ReadonlyArray<keyof Row & string>,
  ) {}

  run(db: Db | Tx, dialect: Dialect, row: Row): Promise<number> {
    return this.runRows(db, dialect, [row]);
  }

  runRows(db: Db | Tx, dialect: Dialect, rows: readonly Row[]): Promise<number> {
    let statement = this.statements.get(rows.length);
    if (!statement) {
      const tuple = `(${this.columns.map(() => '?').join(', ')})`;
      statement = new PreparedStatement(`insert into "${this.table}" (${this.columns.map((c) => `"${c}"`).join(', ')}) values ${rows.map(() => tuple).join(', ')}`);
      if (rows.length <= 8) this.statements.set(rows.length, statement);
    }
    return statement.run(db, dialect, rows.flatMap((row) => this.columns.map((c) => row[c] ?? null)));
  }
}
