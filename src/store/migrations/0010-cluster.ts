import { sql, type Kysely } from 'kysely';

/**
 * What several gateways on one database need to act as one:
 *
 * - `session_changes.xid`: the writing transaction's id, so that followers read the log
 *   by transaction visibility (everything below their last snapshot's xmin was committed
 *   before it) instead of by a time window that a slow commit could outlast.
 * - `job_leases`: which gateway runs each cluster-wide job (the stale-session sweep,
 *   authorization expiry, webhook delivery…) until when; a survivor takes a lapsed one.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  if (dialect !== 'postgres') return;
  await sql`alter table session_changes add column xid xid8 not null default pg_current_xact_id()`.execute(db);
  await sql`create index session_changes_xid on session_changes (xid)`.execute(db);
}
