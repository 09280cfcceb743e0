/**
 * The merchant API's objects. test/certification/sdk-types-match-openapi.test.ts checks
 * each against the OpenAPI document the gateway serves, field by field, through the
 * `*Fields` lists below (which the compiler ties to the types).
 */
/** `processing`: held, waiting for the acquirer's answer (a retry with the same Idempotency-Key resumes it). */
export type AuthorizationStatus = 'processing' | 'pending' | 'approved' | 'declined' | 'captured' | 'voided' | 'expired' | 'refunded';
export type Settlement = 'card' | 'provider_bill' | 'merchant_bill';

export interface Customer {
  /** The IPv4 or IPv6 address the customer's request came from. */
  address: string;
  /** Source port (RFC 6302); required when the address is shared under carrier-grade NAT. */
  port?: number;
  /** When the request came (ISO 8601); default now. */
  observedAt?: string;
}

export interface CreateAuthorization {
  customer: Customer;
  /** Integer minor units: 1999 is 19.99. */
  amount: number;
  /** ISO 4217. */
  currency: string;
  description?: string;
  merchantReference?: string;
  capture?: 'automatic' | 'manual';
  settlement?: Settlement;
}

export interface Authorization {
  id: string;
  object: 'authorization';
  status: AuthorizationStatus;
  /** Why it is pending or declined (e.g. SPENDING_LIMIT_EXCEEDED); null when approved. */
  reason: string | null;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  capture: 'automatic' | 'manual';
  settlement: Settlement;
  description: string | null;
  merchantReference: string | null;
  /** A stable pseudonymous id for this customer at your shop; never who they are. */
  customer: { id: string };
  createdAt: string;
  expiresAt: string;
  /** merchant_bill only: compact JWE to your registered encryption key. */
  billingDetails: string | null;
}

export interface AuthorizationList {
  object: 'list';
  data: Authorization[];
  hasMore: boolean;
}

export interface Movement {
  id: string;
  object: 'capture' | 'refund';
  authorizationId: string;
  amount: number;
  currency: string;
  createdAt: string;
}

export type WebhookEventType = 'authorization.approved' | 'authorization.pending' | 'authorization.declined' | 'authorization.captured' | 'authorization.voided' | 'authorization.expired' | 'authorization.refunded';

export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: Authorization;
}

export interface ChannelExchange {
  id: string;
  status: 'negotiating' | 'calling' | 'active' | 'completed' | 'failed';
  cause: string | null;
  active: boolean;
  initiator: 'provider' | 'merchant';
  firstSender: 'provider' | 'merchant';
  providerRole: 'caller' | 'callee';
  /** When the provider is the callee: the number to call and the token to repeat on the call. */
  number?: string;
  token?: string;
  fallback: 'internet' | 'abort' | null;
  itemsSent: number;
  itemsReceived: number;
}

export interface ApiErrorBody {
  error: { type: string; code: string; message: string; param?: string };
}

type Fields<T> = { readonly [K in keyof Required<T>]: true };
export const customerFields: Fields<Customer> = { address: true, port: true, observedAt: true };
export const createAuthorizationFields: Fields<CreateAuthorization> = { customer: true, amount: true, currency: true, description: true, merchantReference: true, capture: true, settlement: true };
export const authorizationFields: Fields<Authorization> = {
  id: true, object: true, status: true, reason: true, amount: true, currency: true, capturedAmount: true, refundedAmount: true, capture: true, settlement: true,
  description: true, merchantReference: true, customer: true, createdAt: true, expiresAt: true, billingDetails: true,
};
export const movementFields: Fields<Movement> = { id: true, object: true, authorizationId: true, amount: true, currency: true, createdAt: true };
export const webhookEventFields: Fields<WebhookEvent> = { id: true, type: true, createdAt: true, data: true };
export const authorizationStatuses: readonly AuthorizationStatus[] = ['processing', 'pending', 'approved', 'declined', 'captured', 'voided', 'expired', 'refunded'];
export const webhookEventTypes: readonly WebhookEventType[] = ['authorization.approved', 'authorization.pending', 'authorization.declined', 'authorization.captured', 'authorization.voided', 'authorization.expired', 'authorization.refunded'];
