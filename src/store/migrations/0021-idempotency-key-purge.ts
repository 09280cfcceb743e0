import { sql, type Kysely } from 'kysely';

/**
 * The certification sweep, every 5 s on the gateway holding its lease, forgets idempotency
 * keys older than a day. With no index on created_at it read every key of the last day to
 * find none: 29 ms a sweep at 500,000 keys (SQLite, small stored answers), on the event
 * loop, and a sequential scan on PostgreSQL. An index on created_at makes it a range
 * search of the keys past retention. An older version runs its queries on either schema.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index idempotency_keys_created on idempotency_keys (created_at)`.execute(db);
}
