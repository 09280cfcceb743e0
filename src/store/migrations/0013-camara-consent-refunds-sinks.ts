import { sql, type Kysely } from 'kysely';

/**
 * CAMARA: the subscriber's consent, refunds v0.3 and notifications to a `sink`
 * (docs/camara.md):
 *
 * - `camara_consents`: a subscriber lets one merchant learn their phone number from a
 *   CAMARA payment identified by address alone (a row is consent; none is the default, off);
 * - `camara_payments.phone_basis`: why the merchant may see the payment's number —
 *   `merchant` (it sent the number) or `consent`; null for payments made before consent
 *   was asked, whose number is shown only while the subscriber consents;
 * - `camara_payments.sink_*` and `camara_refunds`: where CloudEvents go, with the bearer
 *   token the merchant gave for its sink and when that token expires;
 * - `webhook_deliveries.format` and `bearer_*`: the one outbox carries both /v1 webhooks
 *   (`sideband`) and CAMARA CloudEvents (`cloudevents`, sent with the sink's token).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('camara_consents')
    .addColumn('subscriber_id', 'text', (c) => c.notNull().references('subscribers.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('given_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('camara_consents_pk', ['subscriber_id', 'merchant_id'])
    .execute();

  await db.schema.alterTable('camara_payments').addColumn('phone_basis', 'text').execute();
  await db.schema.alterTable('camara_payments').addColumn('sink_token', 'text').execute();
  await db.schema.alterTable('camara_payments').addColumn('sink_token_expires_at', 'bigint').execute();

  await db.schema
    .createTable('camara_refunds')
    .addColumn('refund_id', 'text', (c) => c.primaryKey())
    .addColumn('authorization_id', 'text', (c) => c.notNull().references('authorizations.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('client_correlator', 'text')
    .addColumn('reference_code', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('description', 'text')
    .addColumn('sink', 'text')
    .addColumn('sink_token', 'text')
    .addColumn('sink_token_expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('camara_refunds_payment').on('camara_refunds').columns(['authorization_id', 'created_at']).execute();

  await db.schema.alterTable('webhook_deliveries').addColumn('format', 'text', (c) => c.notNull().defaultTo(sql.lit('sideband'))).execute();
  await db.schema.alterTable('webhook_deliveries').addColumn('bearer_token', 'text').execute();
  await db.schema.alterTable('webhook_deliveries').addColumn('bearer_expires_at', 'bigint').execute();
}
