import { newId } from '../../core/identity/ids.ts';
import type { Tx } from '../../store/open-store.ts';
import type { AuthorizationView as Authorization, AuthorizationStatusName as AuthorizationStatus, WebhookEventTypeName as WebhookEventType } from '../api/contract/merchant-api-schemas.ts';
import type { AuthorizationTable } from '../../store/schema.ts';
import { notifyPaymentSink } from '../camara/camara-notifications.ts';

export type AuthorizationRow = AuthorizationTable;

export type { AuthorizationStatus };

export type EventType = WebhookEventType;

/**
 * What a merchant sees of an authorization: never the subscriber, the session or the card.
 * The SDK's type is the definition, so the API and the SDK cannot drift apart.
 */
export type MerchantAuthorization = Authorization;

export function merchantView(row: AuthorizationRow): MerchantAuthorization {
  return {
    id: row.id, object: 'authorization', status: row.status as AuthorizationStatus, reason: row.reason as Authorization['reason'], amount: row.amount, currency: row.currency,
    capturedAmount: row.captured_amount, refundedAmount: row.refunded_amount, capture: row.capture_mode, settlement: row.settlement,
    description: row.description, merchantReference: row.merchant_reference, customer: { id: row.customer_pseudonym },
    createdAt: new Date(row.created_at).toISOString(), expiresAt: new Date(row.expires_at).toISOString(), billingDetails: row.billing_details,
  };
}

/**
 * Records a state change as an event and, when the merchant has a webhook URL (or the
 * CAMARA payment a sink), queues its delivery in the same transaction (an outbox): the
 * change and its notice commit together.
 */
export async function recordEvent(tx: Tx, row: AuthorizationRow, type: string, amount: number | null, at: number, webhook: EventType | null, detail?: Record<string, unknown>): Promise<string> {
  const eventId = newId('evt', at);
  await tx.insertInto('authorization_events').values({ id: eventId, authorization_id: row.id, type, amount, detail: detail ? JSON.stringify(detail) : null, at }).execute();
  if (webhook) {
    // One round trip for both places the event may go: the merchant's webhook and, for a
    // CAMARA payment, its sink.
    const merchant = await tx
      .selectFrom('merchants')
      .leftJoin('camara_payments', (join) => join.on('camara_payments.authorization_id', '=', row.id))
      .select(['merchants.webhook_url', 'camara_payments.flow', 'camara_payments.sink', 'camara_payments.sink_token', 'camara_payments.sink_token_expires_at'])
      .where('merchants.id', '=', row.merchant_id)
      .executeTakeFirst();
    if (merchant?.webhook_url) {
      const payload = JSON.stringify({ id: eventId, type: webhook, createdAt: new Date(at).toISOString(), data: merchantView(row) });
      await tx
        .insertInto('webhook_deliveries')
        .values({ id: newId('whk', at), merchant_id: row.merchant_id, event_id: eventId, event_type: webhook, url: merchant.webhook_url, payload, status: 'pending', attempts: 0, next_attempt_at: at, last_status: null, last_error: null, created_at: at, delivered_at: null })
        .execute();
    }
    // A CAMARA payment's own notifications go to its sink through the same outbox.
    if (merchant?.sink && merchant.flow) await notifyPaymentSink(tx, row, webhook, eventId, at, { flow: merchant.flow, sink: merchant.sink, sink_token: merchant.sink_token, sink_token_expires_at: merchant.sink_token_expires_at });
  }
  return eventId;
}
