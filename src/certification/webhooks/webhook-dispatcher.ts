import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Store } from '../../store/open-store.ts';
import type { Selectable } from 'kysely';
import type { WebhookDeliveryTable } from '../../store/schema.ts';
import type { WebhookSigner } from './webhook-signer.ts';
import { postDelivery, WebhookTargetRefused, type PrivateTargets } from './delivery-target.ts';

const MAX_ATTEMPTS = 12;
const CLAIM_MS = 60_000;

/** Exponential backoff: 1 s, 2 s, 4 s … capped at one hour. */
export const backoffMs = (attempts: number): number => Math.min(3_600_000, 1000 * 2 ** Math.max(0, attempts - 1));

/**
 * Delivers queued webhook events, on each `tick` (the certification server ticks it on
 * the gateway holding the `webhook-delivery` lease). A delivery is claimed by moving its next attempt a
 * minute ahead with a conditional UPDATE, so several gateways on one database never send
 * the same attempt twice; a crash mid-send leaves it to be retried after the claim lapses.
 */
export class WebhookDispatcher {
  private running: Promise<void> | null = null;
  /** The run asked for while one was running, and the time it was asked for (see tick). */
  private followUp: Promise<void> | null = null;
  private followUpAt: number | undefined;
  private readonly attempts;

  constructor(
    private readonly store: Store,
    private readonly signer: WebhookSigner,
    private readonly logger: Logger,
    metrics: Metrics,
    /** merchantApi.webhookPrivateTargets: whether merchants' URLs may reach private and loopback addresses. */
    private readonly privateTargets: PrivateTargets = 'refuse',
    private readonly timeoutMs = 5000,
  ) {
    this.attempts = metrics.counter('sideband_webhook_attempts_total', 'Webhook delivery attempts, by result', ['result']);
  }

  /**
   * Delivers what is due at `now` (default: when the run starts). A tick asked for while
   * one runs starts after it, so that what became due meanwhile is sent too: handing back
   * the running tick left a delivery made due after its query (an operator's "deliver
   * now", the tests') waiting for the next timer. Such requests share one follow-up run.
   */
  tick(now?: number): Promise<void> {
    if (this.running) {
      this.followUpAt = now;
      return (this.followUp ??= this.running.then(() => {
        this.followUp = null;
        return this.tick(this.followUpAt);
      }));
    }
    this.running = this.deliverDue(now ?? Date.now())
      .catch((e) => this.logger.error({ err: e }, 'webhook dispatch failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async deliverDue(now: number): Promise<void> {
    const due = await this.store.db.selectFrom('webhook_deliveries').selectAll().where('status', '=', 'pending').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(50).execute();
    await Promise.all(due.map(async (d) => {
      const claim = await this.store.db.updateTable('webhook_deliveries').set({ next_attempt_at: now + CLAIM_MS }).where('id', '=', d.id).where('next_attempt_at', '=', d.next_attempt_at).where('status', '=', 'pending').executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) return;
      const attempt = d.attempts + 1;
      let status: number | null = null;
      let error: string | null = null;
      let refused = false;
      try {
        // A CAMARA sink's token past its accessTokenExpiresUtc: "the client will stop receiving notifications".
        if (d.bearer_expires_at !== null && d.bearer_expires_at <= now) throw new Error('the sink credential expired');
        status = await postDelivery(d.url, this.headers(d), d.payload, { timeoutMs: this.timeoutMs, privateTargets: this.privateTargets });
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (e) {
        error = (e as Error).message.slice(0, 200);
        refused = e instanceof WebhookTargetRefused;
      }
      const ok = error === null;
      // A refused target is refused again on every retry: it fails at once.
      const finished = ok || refused || attempt >= MAX_ATTEMPTS || error === 'the sink credential expired';
      await this.store.db
        .updateTable('webhook_deliveries')
        .set({ attempts: attempt, last_status: status, last_error: error, status: ok ? 'delivered' : finished ? 'failed' : 'pending', next_attempt_at: finished ? now : now + backoffMs(attempt), delivered_at: ok ? Date.now() : null })
        .where('id', '=', d.id)
        .execute();
      this.attempts.inc({ result: ok ? 'delivered' : finished ? 'failed' : 'retry' });
      if (!ok) this.logger.warn({ delivery: d.id, merchant: d.merchant_id, attempt, error }, finished ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry');
    }));
  }

  /**
   * /v1 webhooks are JSON signed with the gateway's key; CAMARA notifications are
   * CloudEvents in structured mode (`application/cloudevents+json`, CloudEvents HTTP
   * binding §3.1), with the bearer token the merchant gave as sinkCredential, signed too.
   */
  private headers(d: Selectable<WebhookDeliveryTable>): Record<string, string> {
    const common = { 'sideband-signature': this.signer.header(d.payload), 'sideband-event-id': d.event_id, 'user-agent': 'Sideband-Webhooks/1' };
    if (d.format !== 'cloudevents') return { 'content-type': 'application/json', ...common };
    return { 'content-type': 'application/cloudevents+json', ...(d.bearer_token ? { authorization: `Bearer ${d.bearer_token}` } : {}), ...common };
  }

  async stop(): Promise<void> {
    await this.running;
  }
}
