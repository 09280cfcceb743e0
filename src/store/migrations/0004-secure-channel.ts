import type { Kysely } from 'kysely';

/** Secure-channel exchanges, the exchange's call detail records, and merchants' channel endpoints. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('channel_exchanges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('authorization_id', 'text')
    .addColumn('subscriber_id', 'text')
    .addColumn('initiator', 'text', (c) => c.notNull())
    .addColumn('first_sender', 'text', (c) => c.notNull())
    .addColumn('provider_role', 'text', (c) => c.notNull())
    .addColumn('number', 'text')
    .addColumn('items_out', 'integer', (c) => c.notNull())
    .addColumn('items_in', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('cause', 'text')
    .addColumn('fallback', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('active_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .execute();
  await db.schema.createIndex('channel_exchanges_authorization').on('channel_exchanges').column('authorization_id').execute();

  await db.schema
    .createTable('call_records')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('call_id', 'text', (c) => c.notNull())
    .addColumn('caller', 'text', (c) => c.notNull())
    .addColumn('callee', 'text', (c) => c.notNull())
    .addColumn('dialed', 'text', (c) => c.notNull())
    .addColumn('billed', 'text', (c) => c.notNull())
    .addColumn('reverse_charge', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bigint')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('answered_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .execute();

  await db.schema.alterTable('merchants').addColumn('channel_url', 'text').execute();
  await db.schema.alterTable('merchants').addColumn('channel_line', 'text').execute();
  await db.schema.alterTable('merchants').addColumn('channel_fingerprint', 'text').execute();
}
