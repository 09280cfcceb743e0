import { sql, type Kysely } from 'kysely';

/**
 * One RadSec name names one NAS, as one certificate fingerprint does (0016): two NAS
 * clients known by the same `tls_name` could not be told apart by a certificate carrying
 * it, and the connection would be served as whichever came first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create unique index nas_clients_tls_name on nas_clients (tls_name) where tls_name is not null and removed_at is null`.execute(db);
}
