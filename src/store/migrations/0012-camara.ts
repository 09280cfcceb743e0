import type { Kysely } from 'kysely';

/**
 * The CAMARA Carrier Billing surface (docs/camara.md):
 *
 * - `subscribers.phone_number`: the E.164 number the operator registered, CAMARA's
 *   `phoneNumber` identifier (unique: a number names one subscriber);
 * - `camara_payments`: what a CAMARA payment adds to the authorization it is (one-step
 *   or two-step, the client's correlator, reference code and sink);
 * - `oauth_access_tokens`: access tokens issued to merchants (RFC 6749 client
 *   credentials with an RFC 7523 assertion), stored as SHA-256 hashes only.
 *
 * Assertion ids (`jti`) are kept in `signature_nonces` under the key id `oauth:KEYID`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('subscribers').addColumn('phone_number', 'text').execute();
  await db.schema.createIndex('subscribers_phone_number').unique().on('subscribers').column('phone_number').execute();

  await db.schema
    .createTable('camara_payments')
    .addColumn('authorization_id', 'text', (c) => c.primaryKey().references('authorizations.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('flow', 'text', (c) => c.notNull())
    .addColumn('client_correlator', 'text')
    .addColumn('reference_code', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'text', (c) => c.notNull())
    .addColumn('sink', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('camara_payments_merchant').on('camara_payments').columns(['merchant_id', 'created_at']).execute();

  await db.schema
    .createTable('oauth_access_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oauth_access_tokens_expiry').on('oauth_access_tokens').column('expires_at').execute();
}
