import { sql, type Kysely } from 'kysely';

/**
 * Accounting that tells the truth (docs/radius.md, "Accounting"):
 * - a session remembers the Session-Timeout it was granted, so that a close without a
 *   Stop never charges more than the NAS would have allowed; who closed it (a Stop, the
 *   sweeper, the NAS's restart, an address conflict), so that a late Stop can still
 *   correct what was guessed; and the NAS port key and Calling-Station-Id it came from;
 * - at most one authorization that has not started per NAS, port key and subscriber, so
 *   that a NAS retrying a log-in gets the same address back (sqlippool's pool key) even
 *   with several gateways on one database;
 * - every anomaly the NAS's accounting shows (late, duplicate, reordered, conflicting)
 *   is kept beside the session it concerns.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('session_timeout', 'bigint').execute();
  await db.schema.alterTable('sessions').addColumn('closed_by', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('port_key', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('calling_station_id', 'text').execute();
  // Before this migration only the sweeper's terminate cause said who closed a session;
  // the rest count as closed by a Stop, so that a late Stop for one is a duplicate.
  await sql`update sessions set closed_by = case when terminate_cause = 'Sideband-Stale' then 'sweeper' else 'stop' end where status = 'closed'`.execute(db);
  // Partial indexes: the same syntax on SQLite and PostgreSQL.
  await sql`create unique index sessions_pending_port on sessions (nas_id, port_key, subscriber_id) where status = 'authorized' and port_key is not null`.execute(db);

  await db.schema
    .createTable('accounting_anomalies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('nas_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text')
    /** The other session of an address conflict. */
    .addColumn('other_session_id', 'text')
    .addColumn('acct_session_id', 'text')
    .addColumn('event_at', 'bigint')
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('accounting_anomalies_session').on('accounting_anomalies').column('session_id').execute();
  await db.schema.createIndex('accounting_anomalies_other_session').on('accounting_anomalies').column('other_session_id').execute();
  await db.schema.createIndex('accounting_anomalies_kind').on('accounting_anomalies').columns(['kind', 'received_at']).execute();
}
