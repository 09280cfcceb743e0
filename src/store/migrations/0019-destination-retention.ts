import { sql, type Kysely } from 'kysely';

/**
 * Stored destinations are kept as long as tracking.destinationMaxAgeMinutes says, as the
 * book in memory is (destination-tracking.ts deletes older rows): deleting by age wants an
 * index on last_seen. It replaces the index on (session_id, last_seen): a session's rows,
 * bounded by that age now, are found by the primary key and sorted, and every flush's
 * upsert maintains one secondary index instead of two. An older version reads and writes
 * the same columns and runs on either index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index session_destinations_last_seen on session_destinations (last_seen)`.execute(db);
  await sql`drop index session_destinations_recent`.execute(db);
}
