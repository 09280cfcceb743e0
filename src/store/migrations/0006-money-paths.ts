import { sql, type Kysely } from 'kysely';

/**
 * Exactly-once money paths (docs/merchant-api.md, "Guarantees"):
 * - an idempotency key has an owner and a lease, and names what it guarded once that
 *   committed, so a key left in progress by a crash resolves to that, never stays stuck;
 * - an authorization remembers its key, and a unique index makes a second authorization
 *   for one key impossible whatever the code above it does;
 * - a card carries what it is exposed to, so its credit limit is reserved atomically;
 * - steps owed to the acquirer after a commit (capture, refund, void) wait in an outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('idempotency_keys').addColumn('owner', 'text').execute();
  await db.schema.alterTable('idempotency_keys').addColumn('locked_until', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('idempotency_keys').addColumn('resource_id', 'text').execute();
  await db.schema.createIndex('idempotency_keys_resource').on('idempotency_keys').column('resource_id').execute();

  await db.schema.alterTable('authorizations').addColumn('idempotency_key', 'text').execute();
  await db.schema.createIndex('authorizations_idempotency_key').unique().on('authorizations').columns(['merchant_id', 'idempotency_key']).execute();

  await db.schema.alterTable('cards').addColumn('credit_used', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  // What each card already carried under the old bookkeeping: open holds and captures not refunded.
  await sql`
    update cards set credit_used = coalesce((
      select sum(case when a.status in ('approved', 'pending') then a.amount - a.refunded_amount else a.captured_amount - a.refunded_amount end)
      from authorizations a where a.card_id = cards.id and a.status in ('approved', 'pending', 'captured')
    ), 0)`.execute(db);

  await db.schema
    .createTable('acquirer_instructions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('authorization_id', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('done_at', 'bigint')
    .execute();
  await db.schema.createIndex('acquirer_instructions_due').on('acquirer_instructions').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('acquirer_instructions_authorization').on('acquirer_instructions').column('authorization_id').execute();
}
