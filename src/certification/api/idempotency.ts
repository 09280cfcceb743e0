import { createHash } from 'node:crypto';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';

const RETENTION_MS = 24 * 3600 * 1000;

export type IdempotencyStart = { kind: 'new' } | { kind: 'replay'; status: number; body: string };

/**
 * Idempotency keys, per merchant: the first request with a key is recorded as in
 * progress by an INSERT that the primary key makes atomic; its response is stored and
 * replayed for 24 hours; the same key with another body is refused; a concurrent
 * duplicate gets 409. A request that failed with a server error releases its key.
 */
export class IdempotencyKeys {
  constructor(private readonly store: Store) {}

  static hash(method: string, path: string, body: Buffer): string {
    return createHash('sha256').update(method).update('\n').update(path).update('\n').update(body).digest('base64url');
  }

  async begin(merchantId: string, key: string, requestHash: string, now = Date.now()): Promise<IdempotencyStart> {
    if (key.length < 1 || key.length > 255) throw new SidebandError('FIELD_INVALID', 'Idempotency-Key must be 1 to 255 characters.', { param: 'Idempotency-Key' });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.store.db.insertInto('idempotency_keys').values({ merchant_id: merchantId, key, request_hash: requestHash, status: 'in_progress', response_status: null, response_body: null, created_at: now }).execute();
        return { kind: 'new' };
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
      }
      const row = await this.store.db.selectFrom('idempotency_keys').selectAll().where('merchant_id', '=', merchantId).where('key', '=', key).executeTakeFirst();
      if (!row) continue;
      if (now - row.created_at > RETENTION_MS) {
        await this.store.db.deleteFrom('idempotency_keys').where('merchant_id', '=', merchantId).where('key', '=', key).where('created_at', '=', row.created_at).execute();
        continue;
      }
      if (row.request_hash !== requestHash) throw new SidebandError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was used with a different request.`, { param: 'Idempotency-Key' });
      if (row.status === 'in_progress') throw new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', `A request with Idempotency-Key ${key} is still in progress.`, { param: 'Idempotency-Key' });
      return { kind: 'replay', status: row.response_status!, body: row.response_body! };
    }
    throw new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', `Idempotency-Key ${key} is changing hands; retry.`, { param: 'Idempotency-Key' });
  }

  async finish(merchantId: string, key: string, status: number, body: string): Promise<void> {
    if (status >= 500) {
      await this.store.db.deleteFrom('idempotency_keys').where('merchant_id', '=', merchantId).where('key', '=', key).execute();
      return;
    }
    await this.store.db.updateTable('idempotency_keys').set({ status: 'done', response_status: status, response_body: body }).where('merchant_id', '=', merchantId).where('key', '=', key).execute();
  }

  async purge(now = Date.now()): Promise<void> {
    await this.store.db.deleteFrom('idempotency_keys').where('created_at', '<', now - RETENTION_MS).execute();
  }
}
