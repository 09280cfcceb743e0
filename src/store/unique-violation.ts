import { failureKind } from './failure-kind.ts';

/**
 * Whether a failed write broke a unique or primary key — the one failure several writers
 * use on purpose (an address already held, a nonce already seen, an idempotency key
 * already taken). Read from SQLSTATE 23505 or SQLite's constraint code, never from the
 * message (see failure-kind.ts).
 */
export const isUniqueViolation = (e: unknown): boolean => failureKind(e) === 'unique-violation';
