import type { Kysely } from 'kysely';

/** The subscriber's "secure" switch, per merchant: for the next purchase only, or until switched off. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('channel_preferences')
    .addColumn('subscriber_id', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_preferences_pk', ['subscriber_id', 'merchant_id'])
    .execute();
}
