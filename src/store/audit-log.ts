import { newId } from '../core/identity/ids.ts';
import { announce, isFollowedAction } from './change-notices.ts';
import type { Db, Tx } from './open-store.ts';
import { PreparedInsert, allColumns, dialectOf } from './prepared-statement.ts';
import type { AuditLogTable } from './schema.ts';

// Prepared once: a card opened for the secure channel, an exchange's end and every vault
// decryption write one, and the builder cost more than the insert.
const insertEntry = new PreparedInsert<AuditLogTable>('audit_log', allColumns<AuditLogTable>({ id: true, at: true, actor: true, action: true, subject_type: true, subject_id: true, detail: true }));

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
  await insertEntry.run(db, dialectOf(db), {
    id: newId('aud', at),
    at,
    actor: entry.actor,
    action: entry.action,
    subject_type: entry.subjectType,
    subject_id: entry.subjectId ?? null,
    detail: entry.detail ? JSON.stringify(entry.detail) : null,
  });
  if (isFollowedAction(entry.action)) await announce(db, entry.action, entry.subjectId ?? null);
}
