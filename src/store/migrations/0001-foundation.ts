import { sql, type Kysely } from 'kysely';

/**
 * The foundation schema. Column types are chosen to read back identically on both
 * dialects: `bigint` is INTEGER affinity on SQLite, and the pg driver is told to parse
 * int8 as a number (store/open-store.ts).
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('subscribers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('login', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('chap_record_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'suspended', 'closed')`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('spending_limit', 'bigint', (c) => c.notNull().check(sql`spending_limit >= 0`))
    .addColumn('amount_used', 'bigint', (c) => c.notNull().check(sql`amount_used >= 0`))
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('auto_approve_limit', 'bigint')
    .addColumn('release_to_merchant', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('seconds_allotted', 'bigint')
    .addColumn('seconds_remaining', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('vault_records')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('vault_records_key_id').on('vault_records').column('key_id').execute();

  await db.schema
    .createTable('cards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subscriber_id', 'text', (c) => c.notNull().references('subscribers.id'))
    .addColumn('record_id', 'text')
    .addColumn('brand', 'text', (c) => c.notNull())
    .addColumn('bin', 'text', (c) => c.notNull())
    .addColumn('last4', 'text', (c) => c.notNull())
    .addColumn('pan_length', 'integer', (c) => c.notNull())
    .addColumn('expiry_month', 'integer', (c) => c.notNull())
    .addColumn('expiry_year', 'integer', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('removed_at', 'bigint')
    .execute();
  await db.schema.createIndex('cards_subscriber_fingerprint_active').on('cards').columns(['subscriber_id', 'fingerprint']).unique().where(sql.ref('status'), '=', 'active').execute();
  await db.schema.createIndex('cards_fingerprint').on('cards').column('fingerprint').execute();

  await db.schema
    .createTable('pools')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('ports_per_block', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('nas_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('secret_record_id', 'text', (c) => c.notNull().references('vault_records.id'))
    .addColumn('require_message_authenticator', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('pool_id', 'text', (c) => c.references('pools.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subscriber_id', 'text', (c) => c.references('subscribers.id'))
    .addColumn('login', 'text', (c) => c.notNull())
    .addColumn('nas_id', 'text', (c) => c.notNull().references('nas_clients.id'))
    .addColumn('nas_identifier', 'text')
    .addColumn('nas_ip_address', 'text')
    .addColumn('nas_port', 'bigint')
    .addColumn('nas_port_id', 'text')
    .addColumn('acct_session_id', 'text')
    .addColumn('class', 'text')
    .addColumn('framed_address', 'text')
    .addColumn('pool_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('authorized_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('session_time', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('input_octets', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('output_octets', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('terminate_cause', 'text')
    .addColumn('charged_seconds', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('sessions_nas_acct').on('sessions').columns(['nas_id', 'acct_session_id']).execute();
  await db.schema.createIndex('sessions_class').on('sessions').column('class').execute();
  await db.schema.createIndex('sessions_status').on('sessions').columns(['status', 'last_seen_at']).execute();
  await db.schema.createIndex('sessions_subscriber').on('sessions').column('subscriber_id').execute();

  await db.schema
    .createTable('bindings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('port_first', 'integer')
    .addColumn('port_last', 'integer')
    .addColumn('start_at', 'bigint', (c) => c.notNull())
    .addColumn('end_at', 'bigint')
    .addColumn('open_key', 'text', (c) => c.unique())
    .execute();
  await db.schema.createIndex('bindings_address').on('bindings').columns(['address', 'start_at']).execute();
  await db.schema.createIndex('bindings_session').on('bindings').column('session_id').execute();

  await db.schema
    .createTable('merchants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'certified', 'revoked')`))
    .addColumn('webhook_url', 'text')
    .addColumn('settlement_preference', 'text', (c) => c.notNull())
    .addColumn('pseudonym_salt', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('certified_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('merchant_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('use', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('merchant_keys_merchant').on('merchant_keys').column('merchant_id').execute();

  await db.schema
    .createTable('merchant_networks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merchant_networks_unique').on('merchant_networks').columns(['merchant_id', 'cidr']).unique().execute();

  await db.schema
    .createTable('authorizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('subscriber_id', 'text', (c) => c.notNull().references('subscribers.id'))
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('card_id', 'text')
    .addColumn('customer_address', 'text', (c) => c.notNull())
    .addColumn('customer_port', 'integer')
    .addColumn('observed_at', 'bigint', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('captured_amount', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refunded_amount', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('capture_mode', 'text', (c) => c.notNull())
    .addColumn('settlement', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('merchant_reference', 'text')
    .addColumn('customer_pseudonym', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('authorizations_captured_within', sql`captured_amount <= amount and refunded_amount <= captured_amount`)
    .execute();
  await db.schema.createIndex('authorizations_merchant').on('authorizations').columns(['merchant_id', 'created_at']).execute();

  await db.schema
    .createTable('authorization_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('authorization_id', 'text', (c) => c.notNull().references('authorizations.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint')
    .addColumn('detail', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('authorization_events_authorization').on('authorization_events').column('authorization_id').execute();

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('authorization_id', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_entries_transaction').on('ledger_entries').column('transaction_id').execute();
  await db.schema.createIndex('ledger_entries_account').on('ledger_entries').columns(['account', 'at']).execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_subject').on('audit_log').columns(['subject_type', 'subject_id']).execute();

  await db.schema
    .createTable('operator_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();

  // The audit log is append-only: the database itself refuses to change or delete a row,
  // so neither a bug nor a careless operator with SQL access can rewrite history.
  if (dialect === 'sqlite') {
    await sql`create trigger audit_log_no_update before update on audit_log begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  } else {
    await sql`create function audit_log_append_only() returns trigger language plpgsql as $$ begin raise exception 'audit_log is append-only'; end $$`.execute(db);
    await sql`create trigger audit_log_no_change before update or delete on audit_log for each row execute function audit_log_append_only()`.execute(db);
  }
}
