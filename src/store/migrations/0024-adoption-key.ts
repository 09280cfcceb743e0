import { sql, type Kysely } from 'kysely';

/**
 * A NAS that fails over may send one Accounting-Request to two gateways at the same
 * moment. For a session nobody authenticated, both would adopt it: recorded twice, and a
 * Stop charged twice. An adopted session now carries its NAS, Acct-Session-Id and login as
 * a unique key, so that the second adoption's INSERT meets the first (waiting for it to
 * commit, on PostgreSQL) in the same statement, and applies the report to that session
 * instead. Authorized sessions (Class) leave it null. An older version writes null.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column adoption_key text`.execute(db);
  // Only adopted sessions have one: the index stays as small as they are.
  await sql`create unique index sessions_adoption_key on sessions (adoption_key) where adoption_key is not null`.execute(db);
}
