import { newId } from '../../core/identity/ids.ts';
import { parseRfc3339 } from '../../core/time/rfc3339.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Tx } from '../../store/open-store.ts';
import type { CamaraPaymentTable, CamaraRefundTable } from '../../store/schema.ts';
import type { AuthorizationRow, EventType } from '../authorization/authorization-record.ts';

export const CARRIER_BILLING_BASE = '/carrier-billing/v0.5';
export const CARRIER_BILLING_REFUND_BASE = '/carrier-billing-refund/v0.3';

/** Where a payment's or refund's CloudEvents go, and the bearer token the merchant gave for it. */
export interface Sink {
  url: string;
  token: string | null;
  expiresAt: number | null;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/i;

/**
 * `sink` and `sinkCredential` of a create request (carrier-billing-v0.5.yaml,
 * carrier-billing-refund-v0.3.yaml). The documents' sink is `^https://`; http is taken
 * only to loopback, and only when `merchantApi.camaraSinkLoopbackHttp` allows it (a
 * development gateway beside the merchant's test receiver). Of the credential types only
 * ACCESSTOKEN with a bearer token is supported (the documents' INVALID_CREDENTIAL and
 * INVALID_TOKEN examples say the same); it must not have expired already.
 */
export function parseSink(body: Record<string, unknown>, allowLoopbackHttp: boolean, now = Date.now()): Sink | null {
  if (body.sink === undefined) {
    if (body.sinkCredential !== undefined) throw new SidebandError('FIELD_INVALID', 'sinkCredential is for a sink; send sink too, or neither.', { param: 'sinkCredential' });
    return null;
  }
  let url: URL;
  try {
    if (typeof body.sink !== 'string' || body.sink.length > 2048) throw new Error();
    url = new URL(body.sink);
  } catch {
    throw new SidebandError('CAMARA_SINK_INVALID', 'sink must be an absolute https URL of at most 2048 characters.', { param: 'sink' });
  }
  const httpAllowed = allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK.test(url.hostname);
  if (url.protocol !== 'https:' && !httpAllowed) throw new SidebandError('CAMARA_SINK_INVALID', 'sink not valid for the specified protocol: it must be https.', { param: 'sink' });
  if (url.username || url.password) throw new SidebandError('CAMARA_SINK_INVALID', 'sink must not carry credentials in the URL; send sinkCredential.', { param: 'sink' });
  const c = body.sinkCredential;
  if (c === undefined) return { url: url.toString(), token: null, expiresAt: null };
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new SidebandError('FIELD_INVALID', 'sinkCredential must be an object.', { param: 'sinkCredential' });
  const cred = c as Record<string, unknown>;
  if (cred.credentialType !== 'ACCESSTOKEN') throw new SidebandError('CAMARA_SINK_CREDENTIAL_INVALID', 'Only Access token is supported: sinkCredential.credentialType must be ACCESSTOKEN.', { param: 'sinkCredential.credentialType' });
  if (cred.accessTokenType !== 'bearer') throw new SidebandError('CAMARA_SINK_TOKEN_INVALID', 'Only bearer token is supported: sinkCredential.accessTokenType must be bearer.', { param: 'sinkCredential.accessTokenType' });
  // RFC 6750 §2.1 b64token: what can follow "Bearer " in a header.
  if (typeof cred.accessToken !== 'string' || !/^[A-Za-z0-9._~+/-]+=*$/.test(cred.accessToken) || cred.accessToken.length > 4096) throw new SidebandError('CAMARA_SINK_TOKEN_INVALID', 'sinkCredential.accessToken must be a bearer token (RFC 6750 b64token) of at most 4096 characters.', { param: 'sinkCredential.accessToken' });
  const expiresAt = typeof cred.accessTokenExpiresUtc === 'string' ? parseRfc3339(cred.accessTokenExpiresUtc) : undefined;
  if (expiresAt === undefined) throw new SidebandError('CAMARA_SINK_CREDENTIAL_INVALID', 'sinkCredential.accessTokenExpiresUtc must be an RFC 3339 time with a zone.', { param: 'sinkCredential.accessTokenExpiresUtc' });
  if (expiresAt <= now) throw new SidebandError('CAMARA_SINK_CREDENTIAL_INVALID', 'sinkCredential.accessTokenExpiresUtc is already past.', { param: 'sinkCredential.accessTokenExpiresUtc' });
  return { url: url.toString(), token: cred.accessToken, expiresAt };
}

/** Queues a CloudEvent (CloudEvents 1.0, structured JSON) in the webhook outbox, in the caller's transaction. */
async function queue(tx: Tx, merchantId: string, sink: Sink, event: { id: string; source: string; type: string; time: number; data: Record<string, unknown> }): Promise<void> {
  const payload = JSON.stringify({ id: event.id, source: event.source, type: event.type, specversion: '1.0', datacontenttype: 'application/json', time: new Date(event.time).toISOString(), data: event.data });
  await tx
    .insertInto('webhook_deliveries')
    .values({ id: newId('whk', event.time), merchant_id: merchantId, event_id: event.id, event_type: event.type, url: sink.url, payload, status: 'pending', attempts: 0, next_attempt_at: event.time, last_status: null, last_error: null, created_at: event.time, delivered_at: null, format: 'cloudevents', bearer_token: sink.token, bearer_expires_at: sink.expiresAt })
    .execute();
}

/**
 * The payment CloudEvent (carrier-billing-v0.5.yaml) a change of the core's authorization
 * means, if any: approved on two steps is `payment-reserved`; a capture of the whole
 * amount `payment-completed`; released with nothing captured `payment-cancelled`;
 * declined `payment-denied`. Waiting (for the subscriber, the acquirer) sends nothing.
 */
function paymentEvent(row: AuthorizationRow, webhook: EventType, flow: string): { kind: string; status: 'succeeded' | 'failed'; description: string; extra?: Record<string, unknown> } | null {
  switch (webhook) {
    case 'authorization.approved':
      return flow === 'two-step' ? { kind: 'payment-reserved', status: 'succeeded', description: 'Payment reserved.' } : null;
    case 'authorization.captured':
      return row.status === 'captured' ? { kind: 'payment-completed', status: 'succeeded', description: 'Payment completed.', extra: { paymentDate: new Date(row.updated_at).toISOString() } } : null;
    case 'authorization.voided':
    case 'authorization.expired':
      return row.captured_amount === 0 ? { kind: 'payment-cancelled', status: 'succeeded', description: webhook === 'authorization.expired' ? 'Payment cancelled: not confirmed in time.' : 'Payment cancelled.' } : null;
    case 'authorization.declined':
      return { kind: 'payment-denied', status: 'failed', description: 'Payment denied by business.', extra: { denialReason: row.reason ?? 'declined' } };
    default:
      return null;
  }
}

/** Called by the core's outbox (recordEvent), with the payment's row, for every change of a CAMARA payment that has a sink. */
export async function notifyPaymentSink(tx: Tx, row: AuthorizationRow, webhook: EventType, eventId: string, at: number, payment: Pick<CamaraPaymentTable, 'flow' | 'sink' | 'sink_token' | 'sink_token_expires_at'>): Promise<void> {
  if (!payment.sink) return;
  const e = paymentEvent(row, webhook, payment.flow);
  if (!e) return;
  await queue(tx, row.merchant_id, { url: payment.sink, token: payment.sink_token, expiresAt: payment.sink_token_expires_at }, {
    id: eventId, source: `${CARRIER_BILLING_BASE}/payments/${row.id}`, type: `org.camaraproject.carrier-billing.v0.${e.kind}`, time: at,
    data: { paymentId: row.id, status: e.status, description: e.description, ...e.extra },
  });
}

/** A refund's `refund-completed` (carrier-billing-refund-v0.3.yaml), in the refund's transaction. */
export async function notifyRefundSink(tx: Tx, refund: CamaraRefundTable): Promise<void> {
  if (!refund.sink) return;
  await queue(tx, refund.merchant_id, { url: refund.sink, token: refund.sink_token, expiresAt: refund.sink_token_expires_at }, {
    id: refund.refund_id, source: `${CARRIER_BILLING_REFUND_BASE}/payments/${refund.authorization_id}/refunds/${refund.refund_id}`, type: 'org.camaraproject.carrier-billing-refund.v0.refund-completed', time: refund.created_at,
    data: { paymentId: refund.authorization_id, refundId: refund.refund_id, status: 'succeeded', description: 'Refund completed.', refundDate: new Date(refund.created_at).toISOString() },
  });
}
