import { sql, type Kysely } from 'kysely';

/**
 * The session change log that gateways sharing one PostgreSQL database follow
 * (`aaa/service/session-feed.ts`): one row per session or binding change, written in the
 * transaction that made it. SQLite runs one gateway per data directory (a lock enforces
 * it), so it has no followers and no table.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`create table session_changes (seq bigserial primary key, session_id text not null, origin text not null, at bigint not null)`.execute(db);
  await sql`create index session_changes_at on session_changes (at)`.execute(db);
}
