import { sql, type Kysely } from 'kysely';

/**
 * Lookups that read a table's whole history, which nothing ever deletes (sessions,
 * authorizations, secure-channel exchanges), to find a few rows:
 *
 * - The stale-session sweep (every minute) and Accounting-On/Off (a NAS restarted) ask for
 *   sessions not closed; `status != ?` cannot use the index on (status, last_seen_at), so
 *   both read every session ever: 97 ms a sweep at 1M sessions (SQLite), 114 ms for an
 *   Accounting-On of a NAS with 250,000 sessions behind it. One partial index over the
 *   open sessions, (nas_id, last_seen_at), serves both: the sweep reads the open sessions
 *   only, an Accounting-On that NAS's, and so does start-up. The queries write 'closed' as
 *   a literal, so that SQLite and PostgreSQL (also under a generic plan) can match it to
 *   the index's WHERE. It replaces (status, last_seen_at), which nothing else used, so a
 *   new session still updates one index for them: two partial indexes, one per query,
 *   cost 8 us more an Access-Request's insert (18 -> 26 us in bench/radius).
 * - A subscriber's purchases (the portal's /purchases, the operator's list by login):
 *   authorizations had no index on subscriber_id. 250 ms a page at 1M authorizations.
 * - A merchant's authorizations, newest first (GET /v1/authorizations): the index on
 *   (merchant_id, created_at) did not serve `order by id`, so SQLite read and sorted all of
 *   the merchant's: 427 ms at 500,000. (merchant_id, id) serves the list (ids are
 *   time-ordered); (merchant_id, created_at) stays for the list bounded by dates.
 * - A subscriber's secure-channel exchanges (the portal's /channel): 15 ms at 200,000.
 *
 * The indexes replaced here and in 0020 are dropped last. On PostgreSQL the pending
 * migrations run in one transaction, and DROP INDEX locks its table against reads too
 * until the commit: dropped first, they would hold `sessions` from every RADIUS read while
 * the indexes after them are built.
 *
 * Measured by a review with throwaway databases. An older version runs its queries on
 * either schema.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index sessions_open on sessions (nas_id, last_seen_at) where status != 'closed'`.execute(db);
  await sql`create index authorizations_subscriber on authorizations (subscriber_id, id)`.execute(db);
  await sql`create index authorizations_merchant_newest on authorizations (merchant_id, id)`.execute(db);
  await sql`create index channel_exchanges_subscriber on channel_exchanges (subscriber_id, created_at)`.execute(db);
  await sql`drop index dynamic_authorizations_unfinished`.execute(db);
  await sql`drop index sessions_status`.execute(db);
}
