import { sql, type Kysely } from 'kysely';

/**
 * Dynamic authorization (RFC 5176): Sideband tells a NAS to end a session or change it.
 *
 * - `nas_clients.coa_port`: the NAS's dynamic-authorization port, "UDP port 3799" unless
 *   its operator configured another (RFC 5176 §3.4 lets it be changed).
 * - `dynamic_authorizations`: one row per Disconnect-Request or CoA-Request Sideband is to
 *   send or has sent, the session's history of them. It is written in the transaction of
 *   the change that calls for it (a suspension, an operator's disconnect, fewer prepaid
 *   seconds), as `pending`; exactly one gateway claims it (a conditional update to
 *   `sending`) and records the NAS's answer, or its silence, in the same row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('nas_clients').addColumn('coa_port', 'integer', (c) => c.notNull().defaultTo(3799)).execute();
  await db.schema
    .createTable('dynamic_authorizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
    .addColumn('nas_id', 'text', (c) => c.notNull().references('nas_clients.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('disconnect', 'coa')`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('session_timeout', 'bigint')
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'sending', 'ack', 'nak', 'timeout', 'failed')`))
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_at', 'bigint')
    .addColumn('destination', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_cause', 'integer')
    .addColumn('detail', 'text')
    .addColumn('completed_at', 'bigint')
    .execute();
  await db.schema.createIndex('dynamic_authorizations_session').on('dynamic_authorizations').columns(['session_id', 'requested_at']).execute();
  // The sender's queue: few rows are ever unfinished, so the index stays small.
  await sql`create index dynamic_authorizations_unfinished on dynamic_authorizations (requested_at) where status in ('pending', 'sending')`.execute(db);
}
