import { sql, type Kysely } from 'kysely';

/**
 * The dynamic-authorization sender's poll, each second on every gateway, asks for requests
 * "pending, or sending and stale", oldest first. Its only index was partial (`status in
 * ('pending', 'sending')`), and SQLite cannot prove that WHERE from the poll's OR, so it
 * read the whole table, every finished request ever made: 8 ms a poll at 100,000, on the
 * event loop. An index on (status, requested_at) serves both arms of the OR on either
 * database. The partial index it replaces is dropped at the end of 0022, with the others
 * (see there why last). An older version runs its queries on either schema.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index dynamic_authorizations_status on dynamic_authorizations (status, requested_at)`.execute(db);
}
