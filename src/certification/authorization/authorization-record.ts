import { newId } from '../../core/identity/ids.ts';
import type { Tx } from '../../store/open-store.ts';
import type { AuthorizationView as Authorization, AuthorizationStatusName as AuthorizationStatus, WebhookEventTypeName as WebhookEventType } from '../api/contract/merchant-api-schemas.ts';
import type { Selectable } from 'kysely';
import type { AuthorizationEventTable, AuthorizationTable, CamaraPaymentTable, WebhookDeliveryTable } from '../../store/schema.ts';
import { PreparedInsert, PreparedStatement, allColumns, dialectOf } from '../../store/prepared-statement.ts';
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

// Every purchase writes these: prepared once rather than built per call (prepared-statement.ts).
const insertEvent = new PreparedInsert<AuthorizationEventTable>('authorization_events', allColumns<AuthorizationEventTable>({ id: true, authorization_id: true, type: true, amount: true, detail: true, at: true }));
type DeliveryRow = Selectable<WebhookDeliveryTable>;
export const DELIVERY_COLUMNS = allColumns<DeliveryRow>({
  id: true, merchant_id: true, event_id: true, event_type: true, url: true, payload: true, status: true, attempts: true, next_attempt_at: true, last_status: true, last_error: true, created_at: true, delivered_at: true,
  format: true, bearer_token: true, bearer_expires_at: true,
});
const insertDelivery = new PreparedInsert<DeliveryRow>('webhook_deliveries', DELIVERY_COLUMNS);
type SinkColumns = Pick<CamaraPaymentTable, 'flow' | 'sink' | 'sink_token' | 'sink_token_expires_at'>;
type Destinations = { webhook_url: string | null } & { [K in keyof SinkColumns]: SinkColumns[K] | null };
/** Both places an event may go, in one read: the merchant's webhook and, for a CAMARA payment, its sink. Parameters: authorization id, merchant id. */
const DESTINATIONS = `select m.webhook_url, c.flow, c.sink, c.sink_token, c.sink_token_expires_at
   from merchants m left join camara_payments c on c.authorization_id = ?
   where m.id = ?`;
const eventDestinations = new PreparedStatement<Destinations>(DESTINATIONS);

/**
 * recordEvent's three statements as one (PostgreSQL): the event, the event's destinations,
 * and its webhook delivery when the merchant has a URL. The delivery's values follow
 * DELIVERY_COLUMNS' order.
 */
const eventWithDelivery = new PreparedStatement<Destinations>(
  `with event as (
     insert into authorization_events (id, authorization_id, type, amount, detail, at) values (?, ?, ?, ?, ?, ?)
   ), destinations as (${DESTINATIONS}
   ), delivery as (
     insert into webhook_deliveries (${DELIVERY_COLUMNS.join(', ')})
     select ?, ?, ?, ?, d.webhook_url, ?, 'pending', 0, ?, null, null, ?, null, 'sideband', null, null from destinations d where d.webhook_url is not null
   )
   select * from destinations`,
);

/** The body of a webhook delivery: the event and the authorization as the merchant sees it. */
export function webhookPayload(eventId: string, type: EventType, at: number, row: AuthorizationRow): string {
  return JSON.stringify({ id: eventId, type, createdAt: new Date(at).toISOString(), data: merchantView(row) });
}

/**
 * Records a state change as an event and, when the merchant has a webhook URL (or the
 * CAMARA payment a sink), queues its delivery in the same transaction (an outbox): the
 * change and its notice commit together.
 */
export async function recordEvent(tx: Tx, row: AuthorizationRow, type: string, amount: number | null, at: number, webhook: EventType | null, detail?: Record<string, unknown>): Promise<string> {
  const eventId = newId('evt', at);
  const dialect = dialectOf(tx);
  const event = { id: eventId, authorization_id: row.id, type, amount, detail: detail ? JSON.stringify(detail) : null, at };
  const payload = (): string => webhookPayload(eventId, webhook!, at, row);
  if (webhook) {
    let merchant;
    if (dialect === 'postgres') {
      // One round trip where there were three: each is one the merchant's answer waits for.
      merchant = await eventWithDelivery.first(tx, dialect, [eventId, row.id, type, amount, event.detail, at, row.id, row.merchant_id, newId('whk', at), row.merchant_id, eventId, webhook, payload(), at, at]);
    } else {
      await insertEvent.run(tx, dialect, event);
      merchant = await eventDestinations.first(tx, dialect, [row.id, row.merchant_id]);
      if (merchant?.webhook_url) {
        await insertDelivery.run(tx, dialect, { id: newId('whk', at), merchant_id: row.merchant_id, event_id: eventId, event_type: webhook, url: merchant.webhook_url, payload: payload(), status: 'pending', attempts: 0, next_attempt_at: at, last_status: null, last_error: null, created_at: at, delivered_at: null, format: 'sideband', bearer_token: null, bearer_expires_at: null });
      }
    }
    // A CAMARA payment's own notifications go to its sink through the same outbox.
    if (merchant?.sink && merchant.flow) await notifyPaymentSink(tx, row, webhook, eventId, at, { flow: merchant.flow, sink: merchant.sink, sink_token: merchant.sink_token, sink_token_expires_at: merchant.sink_token_expires_at });
  } else await insertEvent.run(tx, dialect, event);
  return eventId;
}
