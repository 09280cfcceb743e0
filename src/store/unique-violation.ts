/**
 * Whether a failed write broke a unique or primary key — the one failure several writers
 * use on purpose (an address already held, a nonce already seen, an idempotency key
 * already taken). SQLite says "UNIQUE constraint failed", PostgreSQL "duplicate key value".
 */
export const isUniqueViolation = (e: unknown): boolean => /unique constraint|duplicate key|primary key/i.test(String((e as Error)?.message ?? e));
