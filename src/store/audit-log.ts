import { newId } from '../core/identity/ids.ts';
import { announce, isFollowedAction } from './change-notices.ts';
import type { Db, Tx } from './open-store.ts';

export interface AuditEntry {
  /** `operator:NAME`, `cli`, `radius`, `merchant:ID`, `system`… */
  actor: string;
  /** dotted verb: `vault.decrypt`, `subscriber.add`, `merchant.certify`… */
  action: string;
  subjectType: string;
  subjectId?: string | null;
  /** Masked or non-secret facts only; the caller is responsible for that. */
  detail?: Record<string, unknown>;
}

/**
 * Appends to the audit log, inside the caller's transaction when it has one. A change to
 * something gateways keep in memory (a NAS, a pool, a subscriber…) is also announced to
 * the other gateways sharing a PostgreSQL database, at the same commit.
 */
export async function appendAudit(db: Db | Tx, entry: AuditEntry, at = Date.now()): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      id: newId('aud', at),
      at,
      actor: entry.actor,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
    })
    .execute();
  if (isFollowedAction(entry.action)) await announce(db, entry.action, entry.subjectId ?? null);
}
