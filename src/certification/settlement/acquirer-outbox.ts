import { newId } from '../../core/identity/ids.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { AcquirerInstructionTable } from '../../store/schema.ts';
import type { Acquirer } from './acquirer.ts';

const MAX_ATTEMPTS = 12;
const BATCH = 100;
/** How long a gateway may work on an instruction before another may pick it up. */
const CLAIM_MS = 30_000;

/**
 * What Sideband owes the acquirer after a commit: a capture, a refund or a void is
 * recorded in the same transaction as the ledger change it settles (an outbox), then sent
 * by the instruction's id as the acquirer's idempotency key, so a step interrupted by a
 * crash or a lost reply is sent again without taking effect twice. Sent at once after the
 * commit, and retried with backoff (1, 2, 4 … s, capped at 10 min) for 12 attempts; an
 * instruction that still fails is marked failed, logged and counted for the operator.
 */
export class AcquirerOutbox {
  private draining: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly sent;

  constructor(
    private readonly store: Store,
    private readonly acquirer: Acquirer,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.sent = metrics.counter('sideband_acquirer_instructions_total', 'Acquirer instructions by operation and outcome (done, retry, failed)', ['operation', 'outcome']);
  }

  /** Records an instruction in the caller's transaction. */
  static async queue(tx: Tx, row: { id: string; acquirer_reference: string | null; currency: string }, operation: AcquirerInstructionTable['operation'], amount: number | null, now: number): Promise<void> {
    if (!row.acquirer_reference) return;
    await tx
      .insertInto('acquirer_instructions')
      .values({ id: newId('acq', now), authorization_id: row.id, operation, reference: row.acquirer_reference, amount, currency: row.currency, status: 'pending', attempts: 0, next_attempt_at: now, last_error: null, created_at: now, done_at: null })
      .execute();
  }

  /** Sends what is due now; concurrent calls share one run (and ask for another after it). */
  drain(now?: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce(now ?? Date.now());
        } while (this.again && !this.closed);
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** Starts a drain without waiting for it (after a commit); failures are logged, never thrown. */
  kick(): void {
    this.drain().catch((e) => this.logger.error({ err: e }, 'acquirer outbox drain failed'));
  }

  private async drainOnce(now: number): Promise<void> {
    const due = await this.store.db.selectFrom('acquirer_instructions').selectAll().where('status', '=', 'pending').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(BATCH).execute();
    for (const instruction of due) {
      if (this.closed) return;
      // Claim it, so another gateway's drain does not send it in the same moment.
      const claimed = await this.store.db.updateTable('acquirer_instructions').set({ next_attempt_at: now + CLAIM_MS }).where('id', '=', instruction.id).where('status', '=', 'pending').where('next_attempt_at', '=', instruction.next_attempt_at).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      await this.send(instruction, now);
    }
  }

  private async send(i: AcquirerInstructionTable, now: number): Promise<void> {
    try {
      if (i.operation === 'capture') await this.acquirer.capture(i.reference, i.amount!, i.currency, i.id);
      else if (i.operation === 'refund') await this.acquirer.refund(i.reference, i.amount!, i.currency, i.id);
      else await this.acquirer.void(i.reference, i.id);
      await this.store.db.updateTable('acquirer_instructions').set({ status: 'done', attempts: i.attempts + 1, done_at: Date.now(), last_error: null }).where('id', '=', i.id).execute();
      this.sent.inc({ operation: i.operation, outcome: 'done' });
    } catch (e) {
      const attempts = i.attempts + 1;
      const failed = attempts >= MAX_ATTEMPTS;
      const message = e instanceof Error ? e.message.slice(0, 500) : String(e).slice(0, 500);
      await this.store.db
        .updateTable('acquirer_instructions')
        .set({ status: failed ? 'failed' : 'pending', attempts, last_error: message, next_attempt_at: now + Math.min(600_000, 1000 * 2 ** (attempts - 1)) })
        .where('id', '=', i.id)
        .execute();
      this.sent.inc({ operation: i.operation, outcome: failed ? 'failed' : 'retry' });
      if (failed) {
        this.logger.error({ instruction: i.id, authorization: i.authorization_id, operation: i.operation, attempts }, 'the acquirer refused an instruction every time; settle it by hand');
      } else {
        this.logger.warn({ instruction: i.id, operation: i.operation, attempts, error: message }, 'acquirer instruction failed; will retry');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.draining?.catch(() => {});
  }
}
