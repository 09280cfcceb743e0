import type { Db } from '../../src/store/open-store.ts';

/** Queues a /v1 webhook delivery of `{ id }` to `url`, due now, as an event's outbox would. */
export function queueWebhookDelivery(db: Db, id: string, url: string): Promise<unknown> {
  return db
    .insertInto('webhook_deliveries')
    .values({ id, merchant_id: 'mer_webhook_test', event_id: `evt_${id}`, event_type: 'authorization.approved', url, payload: JSON.stringify({ id }), status: 'pending', attempts: 0, next_attempt_at: 0, last_status: null, last_error: null, created_at: Date.now(), delivered_at: null, bearer_token: null, bearer_expires_at: null })
    .execute();
}
