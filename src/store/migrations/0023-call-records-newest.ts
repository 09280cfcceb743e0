import { sql, type Kysely } from 'kysely';

/**
 * The operator's call detail records (GET /v1/channel/calls, and the console's channel
 * page) are the newest 200 by started_at. Every secure-channel exchange writes one and none
 * is deleted, so without an index each page read the whole table and sorted it. An index
 * on started_at makes it the index's last 200 entries. An older version runs its queries
 * on either schema.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index call_records_started on call_records (started_at)`.execute(db);
}
