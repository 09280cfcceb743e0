import type { Dialect, Tx } from './open-store.ts';
import { PreparedStatement } from './prepared-statement.ts';

const lockKey = new PreparedStatement<{ locked: string }>('select pg_advisory_xact_lock(hashtextextended(?, 0))::text as locked');

/**
 * Holds `key` until the transaction ends, against every other transaction asking for it
 * on any gateway (PostgreSQL's transaction-level advisory lock on a 64-bit hash of the
 * text). For a check that has no row to lock yet — nobody holds this NAS session, nobody
 * held this address then — before the insert it guards: READ COMMITTED lets two
 * transactions both find nothing, and a unique index cannot see an overlap in time. SQLite
 * needs none: one writer at a time.
 */
export async function holdUntilCommit(tx: Tx, dialect: Dialect, key: string): Promise<void> {
  if (dialect === 'postgres') await lockKey.first(tx, dialect, [key]);
}
