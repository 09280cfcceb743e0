import { sql, type Kysely } from 'kysely';

/**
 * IPv6 dual stack: pools of prefixes and the prefixes sessions hold.
 *
 * - `pools.prefix_length`: an IPv6 pool's unit, the length of the prefixes it carves from
 *   its range (a /64 for Framed-IPv6-Prefix, RFC 3162; a /56 for Delegated-IPv6-Prefix,
 *   RFC 4818). Null for an IPv4 pool.
 * - `nas_clients.framed_ipv6_pool_id`, `nas_clients.delegated_ipv6_pool_id`: the IPv6
 *   pools the NAS's subscribers draw from, beside `pool_id` for IPv4.
 * - `sessions.framed_interface_id`: Framed-Interface-Id (RFC 3162 §2.2) as the NAS sent it.
 * - `prefix_bindings`: who held which prefix when, as `bindings` for IPv4 addresses. The
 *   unique `open_key` (the prefix's text while open) makes a second open holder of one
 *   prefix impossible, also with several gateways on one PostgreSQL database.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pools').addColumn('prefix_length', 'integer').execute();
  await db.schema.alterTable('nas_clients').addColumn('framed_ipv6_pool_id', 'text', (c) => c.references('pools.id')).execute();
  await db.schema.alterTable('nas_clients').addColumn('delegated_ipv6_pool_id', 'text', (c) => c.references('pools.id')).execute();
  await db.schema.alterTable('sessions').addColumn('framed_interface_id', 'text').execute();
  await db.schema
    .createTable('prefix_bindings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('framed-ipv6-prefix', 'delegated-ipv6-prefix', 'framed-ipv6-address')`))
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('prefix_length', 'integer', (c) => c.notNull())
    .addColumn('start_at', 'bigint', (c) => c.notNull())
    .addColumn('end_at', 'bigint')
    .addColumn('open_key', 'text', (c) => c.unique())
    .execute();
  await db.schema.createIndex('prefix_bindings_network').on('prefix_bindings').columns(['network', 'prefix_length', 'start_at']).execute();
  await db.schema.createIndex('prefix_bindings_session').on('prefix_bindings').column('session_id').execute();
}
