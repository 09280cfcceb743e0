import { createHash, randomBytes } from 'node:crypto';
import { newId } from '../core/identity/ids.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import { toIso } from '../core/time/to-iso.ts';

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Bearer tokens for the operator API. Only a SHA-256 of each token is stored (a token is
 * 256 random bits, so a plain hash suffices); the token itself is shown once, at issue.
 */
export class OperatorTokens {
  constructor(
    private readonly store: Store,
    private readonly actor = 'cli',
  ) {}

  async issue(name: string): Promise<{ id: string; name: string; token: string }> {
    const token = `sbop_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const id = newId('tok', now);
    await this.store.db.transaction().execute(async (tx) => {
      await tx.insertInto('operator_tokens').values({ id, name, token_hash: digest(token), created_at: now, revoked_at: null }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'token.issue', subjectType: 'operator_token', subjectId: id, detail: { name } });
    });
    return { id, name, token };
  }

  async revoke(id: string): Promise<void> {
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('operator_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new SidebandError('OPERATOR_TOKEN_INVALID', `No active token ${id}.`, { param: 'id' });
      await appendAudit(tx, { actor: this.actor, action: 'token.revoke', subjectType: 'operator_token', subjectId: id });
    });
  }

  async list(): Promise<Array<{ id: string; name: string; createdAt: string; revokedAt: string | null }>> {
    const rows = await this.store.db.selectFrom('operator_tokens').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: toIso(r.created_at), revokedAt: toIso(r.revoked_at) }));
  }

  /** The token's name when it is valid, else undefined. */
  async verify(token: string): Promise<string | undefined> {
    const row = await this.store.db.selectFrom('operator_tokens').select(['name', 'revoked_at']).where('token_hash', '=', digest(token)).executeTakeFirst();
    return row && row.revoked_at === null ? row.name : undefined;
  }
}
