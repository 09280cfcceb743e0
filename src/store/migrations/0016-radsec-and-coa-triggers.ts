import { sql, type Kysely } from 'kysely';

/**
 * RADIUS over TLS (RFC 6614) and what calls for dynamic authorization (RFC 5176):
 *
 * - `nas_clients.tls_fingerprint`: the SHA-256 fingerprint (64 lowercase hex digits) of
 *   the client certificate a NAS presents on the RadSec port; `nas_clients.tls_name`: the
 *   name (subjectAltName DNS, else CN) a certificate issued by the configured CA must
 *   carry instead. A NAS with neither is not served over TLS.
 * - `nas_clients.coa_address`: where the NAS takes Disconnect- and CoA-Requests when that
 *   is not the address its RADIUS packets come from; null keeps the old rule.
 * - `subscribers.spent_session_seconds`: the subscriber's spending rule: once their
 *   spending limit is used up, each open session may go on this many seconds (0: it is
 *   disconnected); null: spending never touches the session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('nas_clients').addColumn('tls_fingerprint', 'text').execute();
  await db.schema.alterTable('nas_clients').addColumn('tls_name', 'text').execute();
  await db.schema.alterTable('nas_clients').addColumn('coa_address', 'text').execute();
  // Two NAS clients presenting one certificate could not be told apart.
  await sql`create unique index nas_clients_tls_fingerprint on nas_clients (tls_fingerprint) where tls_fingerprint is not null and removed_at is null`.execute(db);
  await db.schema.alterTable('subscribers').addColumn('spent_session_seconds', 'bigint').execute();
}
