import { sql, type Kysely } from 'kysely';

/**
 * `web_sessions`: the portal's and the console's signed-in browsers, in the database so
 * that any gateway sharing it serves them (no sticky routing) and a log-out or a
 * suspension ends them on every gateway at once.
 *
 * - keyed by the SHA-256 of the session id, never the id: whoever reads the table cannot
 *   present a row as a cookie;
 * - `subject`: the subscriber's id (portal) or the operator's name (console), null for a
 *   log-in form's session; a subject's sessions are counted and ended through it;
 * - `data`: the site's JSON, sealed with a key derived from the session id (the console
 *   keeps the operator's bearer token there), so it too is worth nothing without the cookie;
 * - `expires_at`: the last use plus the site's idle time; the pruning job deletes past it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('web_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('site', 'text', (c) => c.notNull().check(sql`site in ('portal', 'console')`))
    .addColumn('subject', 'text')
    .addColumn('csrf', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('web_sessions_subject').on('web_sessions').columns(['site', 'subject', 'last_seen']).execute();
  await db.schema.createIndex('web_sessions_expires').on('web_sessions').column('expires_at').execute();
}
