import type { Kysely } from 'kysely';

/**
 * Port blocks the NAT really uses (docs/radius.md):
 *
 * - `port_range_reports`: every IP-Port-Range (RFC 8045) a NAT reported in accounting,
 *   with what Sideband did about it — the session's history of its port blocks;
 * - `deterministic_nat`: RFC 7422 mappings from inside addresses to outside address and
 *   port ranges, kept after removal so that resolution answers for the time they held.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('port_range_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
    .addColumn('nas_id', 'text', (c) => c.notNull())
    .addColumn('alloc', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('port_first', 'integer', (c) => c.notNull())
    .addColumn('port_last', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('cause', 'text')
    .addColumn('ended_binding_id', 'text')
    .addColumn('began_binding_id', 'text')
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('port_range_reports_session').on('port_range_reports').columns(['session_id', 'event_at']).execute();

  await db.schema
    .createTable('deterministic_nat')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('inside_cidr', 'text', (c) => c.notNull())
    .addColumn('outside_cidr', 'text', (c) => c.notNull())
    .addColumn('ports_per_subscriber', 'integer', (c) => c.notNull())
    .addColumn('first_port', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('removed_at', 'bigint')
    .execute();
  await db.schema.createIndex('deterministic_nat_name').on('deterministic_nat').column('name').execute();
}
