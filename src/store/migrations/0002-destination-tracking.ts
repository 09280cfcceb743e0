import type { Kysely } from 'kysely';

/** Flow exporters and the destinations each session contacted (the seed's table 200). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('exporters')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('session_destinations')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('flows', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_destinations_pk', ['session_id', 'destination'])
    .execute();
  await db.schema.createIndex('session_destinations_recent').on('session_destinations').columns(['session_id', 'last_seen']).execute();
}
