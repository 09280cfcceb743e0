import { SidebandError } from '../errors/sideband-error.ts';

/**
 * What kind of failure a database call ended in, read from the driver's code — never from
 * the message, which PostgreSQL localises (lc_messages) and either driver may reword:
 *
 * - `unique-violation`: PostgreSQL SQLSTATE 23505; SQLite's extended result codes
 *   SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (better-sqlite3 puts them
 *   in `code`). A writer that raced another on purpose (an address, a nonce) expects it.
 * - `serialization`: SQLSTATE 40001 (serialization_failure) or 40P01 (deadlock_detected):
 *   the transaction was rolled back and may simply be run again.
 * - `lock-timeout`: SQLSTATE 55P03 (lock_not_available): a statement waited longer than
 *   lock_timeout on another transaction's lock (open-store.ts), typically another
 *   gateway's that froze. Rolled back; worth running again, but not at once.
 * - `busy`: SQLITE_BUSY / SQLITE_LOCKED and their extended codes: another process held
 *   the file for longer than busy_timeout.
 * - `connection`: SQLSTATE class 08 (connection exception) and 57P01–57P03 (the server
 *   shut down or is starting), a socket error, or node-postgres's own code-less errors
 *   for a dropped connection. A COMMIT that fails this way is *ambiguous*: it may have
 *   committed. Whoever retries it must make its writes idempotent.
 * - `other`: anything else — a bug, a check constraint, a value out of range.
 */
export type FailureKind = 'unique-violation' | 'serialization' | 'lock-timeout' | 'busy' | 'connection' | 'other';

const socketCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * node-postgres raises these without a code when the connection drops under a query; the
 * texts are the client library's own constants, not the server's (localised) messages.
 */
const pgClientConnectionErrors = [/^Connection terminated/, /is not queryable/, /^timeout exceeded when trying to connect/];

function kindOfOne(e: unknown): FailureKind | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const code = (e as { code?: unknown }).code;
  // A prepared statement whose table a migration changed (open-store.ts): rolled back, and
  // the connection no longer uses prepared statements, so running it again succeeds.
  if ((e as { retryable?: unknown }).retryable === 'stale-plan') return 'serialization';
  if (typeof code === 'string') {
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique-violation';
    if (code === '40001' || code === '40P01') return 'serialization';
    if (code === '55P03') return 'lock-timeout';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
    // 25P03: the server ended the session, idle in a transaction too long (open-store.ts).
    if (/^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03' || code === '25P03' || socketCodes.has(code)) return 'connection';
    return undefined;
  }
  const message = (e as { message?: unknown }).message;
  if (typeof message === 'string' && pgClientConnectionErrors.some((p) => p.test(message))) return 'connection';
  return undefined;
}

export function failureKind(e: unknown): FailureKind {
  // Wrapped errors keep the driver's error as their cause.
  let current: unknown = e;
  for (let depth = 0; depth < 5 && current; depth++) {
    const kind = kindOfOne(current);
    if (kind) return kind;
    current = (current as { cause?: unknown }).cause;
  }
  return 'other';
}

/** A lock wait that timed out, as the answer an HTTP client gets (503 with Retry-After); undefined for any other failure. */
export function storeContended(e: unknown): SidebandError | undefined {
  if (failureKind(e) !== 'lock-timeout') return undefined;
  return new SidebandError('STORE_CONTENDED', 'Another transaction held a row this request needed for longer than lock_timeout; nothing was written. Retry shortly.', { retryAfterSeconds: 1 });
}

/** Failures after which the transaction certainly or possibly did nothing and may be run again. */
export const isTransient = (kind: FailureKind): boolean => kind === 'serialization' || kind === 'lock-timeout' || kind === 'busy' || kind === 'connection';
