import { sql, type Kysely } from 'kysely';

/**
 * Lookups that read a table's whole history, which nothing ever deletes (sessions,
 * authorizations, secure-channel exchanges), to find a few rows:
 *
 * - The stale-session sweep (every minute) and Accounting-On/Off (a NAS restarted) ask for
 *   sessions not closed; `status != ?` cannot use the index on (status, last_seen_at), so
 *   both read every session ever: 97 ms a sweep at 1M sessions (SQLite), 114 ms for an
 *   Accounting-On of a NAS with 250,000 sessions behind it. One partial index over the
 *   open sessions, (nas_id, last_seen_at), serves both (SQLite and PostgreSQL match
 *   `status != 'closed'` with the value bound): the sweep reads the open sessions only, an
 *   Accounting-On that NAS's. It replaces (status, last_seen_at), which nothing else used,
 *   so a new session still updates one index for them: two partial indexes, one per
 *   query, cost 8 us more an Access-Request's insert (18 -> 26 us in bench/radius).
 * - A subscriber's purchases (the portal's /purchases, the operator's list by login):
 *   authorizations had no index on subscriber_id. 250 ms a page at 1M authorizations.
 * - A merchant's authorizations, newest first (GET /v1/authorizations): the index on
 *   (merchant_id, created_at) did not serve `order by id`, so SQLite read and sorted all of
 *   the merchant's: 427 ms at 500,000. Ids are time-ordered; (merchant_id, id) replaces it.
 * - A subscriber's secure-channel exchanges (the portal's /channel): 15 ms at 200,000.
 *
 * Measured by a review with throwaway databases. An older version runs its queries on
 * either schema.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index sessions_open on sessions (nas_id, last_seen_at) where status != 'closed'`.execute(db);
  await sql`drop index sessions_status`.execute(db);
  await sql`create index authorizations_subscriber on authorizations (subscriber_id, id)`.execute(db);
  await sql`create index authorizations_merchant_newest on authorizations (merchant_id, id)`.execute(db);
  await sql`drop index authorizations_merchant`.execute(db);
  await sql`create index channel_exchanges_subscriber on channel_exchanges (subscriber_id, created_at)`.execute(db);
}
