import { z } from 'zod';
import { errorRegistry, type ErrorCode } from '../../../errors/registry.ts';

/**
 * The merchant API's objects, declared once. From these come the request parsers' field
 * lists, enumerations and bounds (authorization-request.ts, channel-request.ts), the
 * OpenAPI 3.1 document (openapi.ts, through z.toJSONSchema) and the SDK's types
 * (scripts/generate-sdk-types.ts writes packages/merchant-sdk/src/api-types.ts; a test
 * checks the file is current). Rules a JSON Schema cannot state (strict address notation,
 * no card number in a stored text, RFC 3339 with a zone) stay in the parsers, which the
 * descriptions name.
 */

/** Codes a merchant can meet in an error body, by where they appear. */
export const merchantErrorCodes = [
  'SIGNATURE_MISSING', 'SIGNATURE_MALFORMED', 'SIGNATURE_COMPONENT_MISSING', 'SIGNATURE_KEY_UNKNOWN', 'SIGNATURE_INVALID', 'SIGNATURE_EXPIRED', 'SIGNATURE_NONCE_REUSED',
  'CONTENT_DIGEST_MISMATCH', 'MERCHANT_NOT_CERTIFIED', 'MERCHANT_REVOKED', 'BODY_MALFORMED', 'BODY_TOO_LARGE', 'FIELD_UNKNOWN', 'FIELD_INVALID', 'FIELD_HOLDS_CARD_NUMBER', 'AMOUNT_INVALID',
  'CURRENCY_UNKNOWN', 'ADDRESS_INVALID', 'RESOLVE_PORT_REQUIRED', 'CUSTOMER_NOT_FOUND', 'IDEMPOTENCY_KEY_MISSING', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_PROGRESS',
  'AUTHORIZATION_NOT_FOUND', 'AUTHORIZATION_STATE_INVALID', 'CAPTURE_EXCEEDS_AUTHORIZED', 'REFUND_EXCEEDS_CAPTURED', 'ACQUIRER_UNAVAILABLE',
  'CHANNEL_UNAVAILABLE', 'CHANNEL_NOT_CONFIGURED', 'CHANNEL_DIRECTION_RULE', 'CHANNEL_POOL_EXHAUSTED', 'CHANNEL_EXCHANGE_NOT_FOUND', 'CHANNEL_EXCHANGE_ID_TAKEN', 'CHANNEL_EXCHANGE_STATE_INVALID',
  'STORE_CONTENDED', 'NOT_FOUND', 'INTERNAL',
] as const satisfies readonly ErrorCode[];

/** The `reason` of a pending or declined authorization. */
export const outcomeReasons = [
  'CONFIRMATION_REQUIRED', 'DESTINATION_NOT_VISITED', 'SUBSCRIBER_NOT_ACTIVE', 'SPENDING_LIMIT_EXCEEDED', 'CREDIT_LIMIT_EXCEEDED', 'NO_CARD_ON_FILE', 'CARD_DECLINED',
  'MERCHANT_BILLING_NOT_ALLOWED', 'CURRENCY_MISMATCH', 'SUBSCRIBER_DECLINED', 'CONFIRMATION_EXPIRED',
] as const satisfies readonly ErrorCode[];

export const authorizationStatuses = ['processing', 'pending', 'approved', 'declined', 'captured', 'voided', 'expired', 'refunded'] as const;
export const webhookEventTypes = authorizationStatuses.filter((s) => s !== 'processing').map((s) => `authorization.${s}` as const) as [`authorization.${Exclude<typeof authorizationStatuses[number], 'processing'>}`, ...`authorization.${Exclude<typeof authorizationStatuses[number], 'processing'>}`[]];

const MAX_AMOUNT = 1_000_000_000_000;
const dateTime = z.iso.datetime({ offset: true });
const minorUnits = z.number().int();
const party = z.enum(['provider', 'merchant']);

export const AuthorizationStatus = z.enum(authorizationStatuses).describe('`processing`: held, waiting for the acquirer\'s answer (a retry with the same Idempotency-Key resumes it).');
export const Settlement = z.enum(['card', 'provider_bill', 'merchant_bill']);
export const CaptureMode = z.enum(['automatic', 'manual']);

export const ApiError = z.object({
  error: z.object({
    type: z.string(),
    code: z.enum(merchantErrorCodes),
    message: z.string(),
    param: z.string().optional(),
  }).strict(),
}).strict();

export const Customer = z.object({
  address: z.string().max(45).describe('IPv4 or IPv6 address the purchase request came from: dotted decimal without leading zeros, or RFC 4291 IPv6 text without a zone index. IPv4-mapped IPv6 (::ffff:192.0.2.1) is read as the IPv4 address. Other notations (0x7f000001, 127.1, 0177.0.0.1) are refused.'),
  port: z.number().int().min(0).max(65535).optional().describe('Source port (RFC 6302); required when the address is shared under carrier-grade NAT.'),
  observedAt: dateTime.optional().describe('When the request came (RFC 3339, with a zone; at most 60 s ahead of the gateway\'s clock); default now.'),
}).strict();

export const CreateAuthorization = z.object({
  customer: Customer,
  amount: minorUnits.min(1).max(MAX_AMOUNT).describe('Integer minor units: 1999 is 19.99.'),
  currency: z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217.'),
  description: z.string().max(500).optional().describe('Stored in clear: no control characters but tab, LF and CR, no lone surrogates, and nothing that looks like a card number (FIELD_HOLDS_CARD_NUMBER).'),
  merchantReference: z.string().max(200).optional().describe('Stored in clear: no control characters, no lone surrogates, and nothing that looks like a card number (FIELD_HOLDS_CARD_NUMBER).'),
  capture: CaptureMode.default('manual').optional(),
  settlement: Settlement.optional().describe('Default: the merchant\'s registered preference.'),
}).strict();

export const Authorization = z.object({
  id: z.string(),
  object: z.literal('authorization'),
  status: AuthorizationStatus,
  reason: z.enum(outcomeReasons).nullable().describe('Why it is pending or declined (e.g. SPENDING_LIMIT_EXCEEDED); null when approved.'),
  amount: minorUnits,
  currency: z.string(),
  capturedAmount: minorUnits,
  refundedAmount: minorUnits,
  capture: CaptureMode,
  settlement: Settlement,
  description: z.string().nullable(),
  merchantReference: z.string().nullable(),
  customer: z.object({ id: z.string().describe('Stable pseudonymous customer id, per merchant. Never the subscriber\'s identity.') }).strict().describe('A stable pseudonymous id for this customer at your shop; never who they are.'),
  createdAt: dateTime,
  expiresAt: dateTime.describe('Pending: until the subscriber must confirm. Approved: until it must be captured.'),
  billingDetails: z.string().nullable().describe('merchant_bill only: compact JWE (RFC 7516, ECDH-ES+A256KW or RSA-OAEP-256, A256GCM) to your registered encryption key.'),
}).strict();

export const AuthorizationList = z.object({
  object: z.literal('list'),
  data: z.array(Authorization),
  hasMore: z.boolean(),
}).strict();

export const CreateCapture = z.object({
  amount: minorUnits.min(1).max(MAX_AMOUNT).optional().describe('Default: all that is not yet captured.'),
}).strict();

export const CreateRefund = z.object({
  amount: minorUnits.min(1).max(MAX_AMOUNT).optional().describe('Default: all that is captured and not yet refunded.'),
  reason: z.string().max(200).optional().describe('Stored in clear: as for description.'),
}).strict();

export const Movement = z.object({
  id: z.string(),
  object: z.enum(['capture', 'refund']),
  authorizationId: z.string(),
  amount: minorUnits,
  currency: z.string(),
  createdAt: dateTime,
}).strict();

export const WebhookEventType = z.enum(webhookEventTypes);

export const WebhookEvent = z.object({
  id: z.string(),
  type: WebhookEventType,
  createdAt: dateTime,
  data: Authorization,
}).strict();

export const WebhookKeySet = z.object({
  keys: z.array(z.object({ kid: z.string().optional(), kty: z.string() }).catchall(z.unknown())).describe('Ed25519 public keys (RFC 8037 JWKs) that sign webhook deliveries.'),
}).strict();

export const ChannelCapabilities = z.object({
  supported: z.boolean(),
  lineNumber: z.string().describe('The provider\'s line number: the caller\'s number (ANI) on its calls.'),
  fingerprint: z.string().describe('RFC 8122 `sha-256 AB:CD:…` of the provider\'s certificate on the call.'),
}).strict();

export const CreateChannelExchange = z.object({
  exchangeId: z.string().max(128).optional().describe('Yours, `exc_` and 16 to 64 letters, digits, _ or -; default one is made.'),
  authorizationId: z.string().max(128),
  firstSender: party.describe('Who sends first; the other party supplies the number (the direction rule).'),
  items: z.object({
    provider: z.number().int().min(0).max(100),
    merchant: z.number().int().min(0).max(100),
  }).strict().describe('How many items each party sends.'),
  number: z.string().max(128).optional().describe('When the provider sends first: the number reserved from your pool (digits, optional leading +).'),
  token: z.string().max(128).optional().describe('When the provider sends first: the token it must repeat on the call.'),
}).strict();

export const ChannelExchange = z.object({
  id: z.string(),
  status: z.enum(['negotiating', 'calling', 'active', 'completed', 'failed']),
  cause: z.string().nullable(),
  active: z.boolean(),
  initiator: party,
  firstSender: party,
  providerRole: z.enum(['caller', 'callee']),
  number: z.string().optional().describe('When the provider is the callee: the number to call.'),
  token: z.string().optional().describe('When the provider is the callee: the token to repeat on the call.'),
  fallback: z.enum(['internet', 'abort']).nullable(),
  itemsSent: z.number().int(),
  itemsReceived: z.number().int(),
}).strict();

/** Every named object, as components of the OpenAPI document and as the SDK's types. */
export const merchantApiSchemas = {
  Error: ApiError,
  AuthorizationStatus,
  Settlement,
  CaptureMode,
  WebhookEventType,
  Customer,
  CreateAuthorization,
  Authorization,
  AuthorizationList,
  CreateCapture,
  CreateRefund,
  Movement,
  WebhookEvent,
  WebhookKeySet,
  ChannelCapabilities,
  CreateChannelExchange,
  ChannelExchange,
} as const;

export type ApiErrorBody = z.infer<typeof ApiError>;
export type AuthorizationView = z.infer<typeof Authorization>;
export type MovementView = z.infer<typeof Movement>;
export type WebhookEventView = z.infer<typeof WebhookEvent>;
export type ChannelExchangeView = z.infer<typeof ChannelExchange>;
export type AuthorizationStatusName = z.infer<typeof AuthorizationStatus>;
export type WebhookEventTypeName = z.infer<typeof WebhookEventType>;

/** `- CODE (status): cause` lines for the document's description. */
export const describeCodes = (codes: readonly ErrorCode[]): string => codes.map((c) => `- \`${c}\` (${errorRegistry[c].status}): ${errorRegistry[c].cause}`).join('\n');
