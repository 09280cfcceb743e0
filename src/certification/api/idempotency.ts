import { createHash, randomUUID } from 'node:crypto';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { UpdateQueryBuilder, UpdateResult } from 'kysely';
import { DurableWrites } from '../../store/durable-writes.ts';
import { PreparedStatement, dialectOf } from '../../store/prepared-statement.ts';
import type { Db, Store, Tx } from '../../store/open-store.ts';
import type { Database } from '../../store/schema.ts';
import { isUniqueViolation } from '../../store/unique-violation.ts';
import { insertNonceText, nonceParameters, nonceReused, spendNonce, type PendingNonce } from './request-authentication.ts';

const RETENTION_MS = 24 * 3600 * 1000;
/**
 * How long a request holds its key before a retry may take it over. Correctness does not
 * rest on it (every write that completes a key checks the owner, and an authorization's
 * key is unique in its table); it only decides how soon a key left by a crash is retried.
 */
export const IDEMPOTENCY_LEASE_MS = 15_000;

/** The right to run one request under its key; the owner is checked by every write that completes it. */
export interface IdempotencyClaim {
  merchantId: string;
  key: string;
  owner: string;
  /** What an earlier holder committed under this key (an authorization id): resume it. */
  resourceId: string | null;
}

export type IdempotencyStart =
  | { kind: 'new'; claim: IdempotencyClaim }
  | { kind: 'resume'; claim: IdempotencyClaim & { resourceId: string } }
  | { kind: 'replay'; status: number; body: string };

/**
 * Idempotency keys, per merchant (docs/merchant-api.md, "Exactly once"):
 * - the first request with a key takes it by an INSERT that the primary key makes
 *   atomic, with a short lease; a concurrent duplicate gets 409 IN_PROGRESS;
 * - the response is stored in the same transaction as the write it reports, by a
 *   conditional UPDATE on the owner, so a reply lost to a crash is never re-done;
 * - a multi-step operation links its key to what it committed first (`linkClaim`), and
 *   whoever finishes that operation stores the response (`completeResource`);
 * - a key whose holder died is taken over when its lease ends: resumed when it guarded
 *   something, run afresh when nothing it guarded committed; never released otherwise;
 * - the same key with another body is refused; stored answers are replayed for 24 hours.
 */
export class IdempotencyKeys {
  constructor(
    private readonly store: Store,
    private readonly writes: DurableWrites = new DurableWrites(store),
  ) {}

  static hash(method: string, path: string, body: Buffer): string {
    return createHash('sha256').update(method).update('\n').update(path).update('\n').update(body).digest('base64url');
  }

  /**
   * `nonce`: the request's signature nonce when authentication left it to this first write
   * (request-authentication.ts): recorded in the same statement (PostgreSQL) or the same
   * job of the group commit (SQLite) as the key, so a purchase commits once before its
   * decision instead of twice; a replayed nonce is refused before the key is taken.
   */
  async begin(merchantId: string, key: string, requestHash: string, now = Date.now(), nonce?: PendingNonce): Promise<IdempotencyStart> {
    if (key.length < 1 || key.length > 255) throw new SidebandError('FIELD_INVALID', 'Idempotency-Key must be 1 to 255 characters.', { param: 'Idempotency-Key' });
    const owner = randomUUID();
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.takeKey([merchantId, key, requestHash, now, owner, now + IDEMPOTENCY_LEASE_MS], nonce)) return { kind: 'new', claim: { merchantId, key, owner, resourceId: null } };
      const row = await this.store.db.selectFrom('idempotency_keys').selectAll().where('merchant_id', '=', merchantId).where('key', '=', key).executeTakeFirst();
      if (!row) continue;
      if (row.request_hash !== requestHash) throw new SidebandError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was used with a different request.`, { param: 'Idempotency-Key' });
      if (row.status === 'done') {
        if (now - row.created_at <= RETENTION_MS) return { kind: 'replay', status: row.response_status!, body: row.response_body! };
        // Past retention: the key is free for a new request of the same body.
        await this.store.db.deleteFrom('idempotency_keys').where('merchant_id', '=', merchantId).where('key', '=', key).where('status', '=', 'done').where('created_at', '=', row.created_at).execute();
        continue;
      }
      if (row.locked_until > now) {
        const seconds = Math.max(1, Math.ceil((row.locked_until - now) / 1000));
        throw new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', `A request with Idempotency-Key ${key} is still in progress; retry in ${seconds} s.`, { param: 'Idempotency-Key', retryAfterSeconds: seconds });
      }
      // The holder is gone (crashed, or gave up after a fault): take the key over.
      const taken = await this.store.db
        .updateTable('idempotency_keys')
        .set({ owner, locked_until: now + IDEMPOTENCY_LEASE_MS })
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .where('status', '=', 'in_progress')
        .where('locked_until', '=', row.locked_until)
        .where((eb) => (row.owner === null ? eb('owner', 'is', null) : eb('owner', '=', row.owner)))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) continue;
      const claim = { merchantId, key, owner, resourceId: row.resource_id };
      return row.resource_id !== null ? { kind: 'resume', claim: { ...claim, resourceId: row.resource_id } } : { kind: 'new', claim };
    }
    throw new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', `Idempotency-Key ${key} is changing hands; retry.`, { param: 'Idempotency-Key' });
  }

  /** Inserts the key in progress; false when it exists already. Records a pending nonce first, whatever the key's fate. */
  private async takeKey(values: unknown[], nonce: PendingNonce | undefined): Promise<boolean> {
    const insertKeyOnly = async (): Promise<boolean> => {
      try {
        await this.writes.one((q) => insertKey.run(q, dialectOf(q), values));
        return true;
      } catch (e) {
        if (isUniqueViolation(e)) return false;
        throw e;
      }
    };
    if (!nonce || nonce.recorded) return insertKeyOnly();
    if (this.store.dialect === 'postgres') {
      try {
        await insertKeyWithNonce.run(this.store.db, 'postgres', [...nonceParameters(nonce), ...values]);
        nonce.recorded = true;
        return true;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        if ((e as { table?: unknown }).table === 'signature_nonces') throw nonceReused();
      }
      // The key exists: the statement failed whole, so the nonce is recorded on its own.
      await spendNonce(this.store.db, nonce);
      nonce.recorded = true;
      return false;
    }
    // SQLite: one job of the group commit; a failed INSERT undoes only itself, so a key
    // that exists leaves the nonce recorded.
    const taken = await this.writes.one(async (q) => {
      await spendNonce(q, nonce);
      try {
        await insertKey.run(q, 'sqlite', values);
        return true;
      } catch (e) {
        if (isUniqueViolation(e)) return false;
        throw e;
      }
    });
    nonce.recorded = true;
    return taken;
  }

  /**
   * Stores an answer decided outside a money write (a refusal before anything was
   * written, or a route that is no money operation), so a retry gets the same answer.
   * A key that guarded a committed operation keeps waiting for that operation's answer.
   */
  async record(claim: IdempotencyClaim, status: number, body: string): Promise<void> {
    await answer(this.store.db, claim, status, body).where('resource_id', 'is', null).execute();
  }

  /**
   * The request failed (a fault, not a refusal). A key that guarded nothing committed is
   * released so the retry runs afresh; one that did is kept, its lease ended, so the
   * retry resumes at once.
   */
  async abandon(claim: IdempotencyClaim): Promise<void> {
    await this.store.db.deleteFrom('idempotency_keys').where('merchant_id', '=', claim.merchantId).where('key', '=', claim.key).where('owner', '=', claim.owner).where('status', '=', 'in_progress').where('resource_id', 'is', null).execute();
    await held(this.store.db.updateTable('idempotency_keys').set({ locked_until: 0 }), claim).execute();
  }

  async purge(now = Date.now()): Promise<void> {
    // A key still guarding an unfinished operation stays until the operation is finished.
    await this.store.db.deleteFrom('idempotency_keys').where('created_at', '<', now - RETENTION_MS).where((eb) => eb.or([eb('status', '=', 'done'), eb('resource_id', 'is', null)])).execute();
  }
}

const KEY_INSERT = `insert into idempotency_keys (merchant_id, key, request_hash, status, response_status, response_body, created_at, owner, locked_until, resource_id)
  values (?, ?, ?, 'in_progress', null, null, ?, ?, ?, null)`;
const insertKey = new PreparedStatement(KEY_INSERT);
/** PostgreSQL runs a data-modifying WITH even when nothing reads it: both rows, one statement, one commit. */
const insertKeyWithNonce = new PreparedStatement(`with nonce as (${insertNonceText}) ${KEY_INSERT}`);

/** Ties the key to what the request committed first, in that same transaction. */
export async function linkClaim(tx: Tx, claim: IdempotencyClaim, resourceId: string): Promise<void> {
  const r = await held(tx.updateTable('idempotency_keys').set({ resource_id: resourceId }), claim).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw claimLost(claim);
  claim.resourceId = resourceId;
}

/** Stores the response in the transaction of the write it reports; refuses if the key changed hands. */
export async function completeClaim(tx: Tx, claim: IdempotencyClaim, status: number, body: string): Promise<void> {
  const changed = await storeAnswer.run(tx, dialectOf(tx), [status, body, claim.merchantId, claim.key, claim.owner]);
  if (changed !== 1) throw claimLost(claim);
}

/** `answer` as one prepared statement: every purchase stores its answer this way. */
const storeAnswer = new PreparedStatement(
  `update idempotency_keys set status = 'done', response_status = ?, response_body = ?, locked_until = 0
   where merchant_id = ? and key = ? and owner = ? and status = 'in_progress'`,
);

type KeyUpdate = UpdateQueryBuilder<Database, 'idempotency_keys', 'idempotency_keys', UpdateResult>;

/** Narrows an update to the key while this claim still holds it. */
const held = (q: KeyUpdate, claim: IdempotencyClaim): KeyUpdate => q.where('merchant_id', '=', claim.merchantId).where('key', '=', claim.key).where('owner', '=', claim.owner).where('status', '=', 'in_progress');

/** The update that stores the key's answer, while this claim holds it. */
const answer = (db: Db | Tx, claim: IdempotencyClaim, status: number, body: string): KeyUpdate => held(db.updateTable('idempotency_keys').set({ status: 'done', response_status: status, response_body: body, locked_until: 0 }), claim);

/**
 * Stores the response for whatever key guarded `resourceId`, from the transaction that
 * finished it: the request itself, a retry that resumed it, or the recovery sweep.
 * The operation's own conditional state change makes the finisher unique.
 */
export async function completeResource(tx: Tx, resourceId: string, status: number, body: string): Promise<void> {
  await tx.updateTable('idempotency_keys').set({ status: 'done', response_status: status, response_body: body, locked_until: 0 }).where('resource_id', '=', resourceId).where('status', '=', 'in_progress').execute();
}

export function claimLost(claim: IdempotencyClaim): SidebandError {
  return new SidebandError('IDEMPOTENCY_KEY_IN_PROGRESS', `Idempotency-Key ${claim.key} was taken over by a retry of the same request; its answer will be replayed.`, { param: 'Idempotency-Key' });
}
