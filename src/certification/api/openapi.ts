import { errorRegistry, type ErrorCode } from '../../errors/registry.ts';

/** Codes a merchant can meet, by where they appear. */
export const merchantErrorCodes: ErrorCode[] = [
  'SIGNATURE_MISSING', 'SIGNATURE_MALFORMED', 'SIGNATURE_COMPONENT_MISSING', 'SIGNATURE_KEY_UNKNOWN', 'SIGNATURE_INVALID', 'SIGNATURE_EXPIRED', 'SIGNATURE_NONCE_REUSED',
  'CONTENT_DIGEST_MISMATCH', 'MERCHANT_NOT_CERTIFIED', 'MERCHANT_REVOKED', 'BODY_MALFORMED', 'BODY_TOO_LARGE', 'FIELD_UNKNOWN', 'FIELD_INVALID', 'FIELD_HOLDS_CARD_NUMBER', 'AMOUNT_INVALID',
  'CURRENCY_UNKNOWN', 'ADDRESS_INVALID', 'RESOLVE_PORT_REQUIRED', 'CUSTOMER_NOT_FOUND', 'IDEMPOTENCY_KEY_MISSING', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_PROGRESS',
  'AUTHORIZATION_NOT_FOUND', 'AUTHORIZATION_STATE_INVALID', 'CAPTURE_EXCEEDS_AUTHORIZED', 'REFUND_EXCEEDS_CAPTURED', 'NOT_FOUND', 'INTERNAL',
];

export const outcomeReasons: ErrorCode[] = [
  'CONFIRMATION_REQUIRED', 'DESTINATION_NOT_VISITED', 'SUBSCRIBER_NOT_ACTIVE', 'SPENDING_LIMIT_EXCEEDED', 'CREDIT_LIMIT_EXCEEDED', 'NO_CARD_ON_FILE', 'CARD_DECLINED',
  'MERCHANT_BILLING_NOT_ALLOWED', 'CURRENCY_MISMATCH', 'SUBSCRIBER_DECLINED', 'CONFIRMATION_EXPIRED',
];

const describeCodes = (codes: ErrorCode[]): string => codes.map((c) => `- \`${c}\` (${errorRegistry[c].status}): ${errorRegistry[c].cause}`).join('\n');

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const signed = [{ httpMessageSignature: [] as string[] }];
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 }, description: 'Unique per purchase; the stored first response is replayed for 24 hours.' };
const idPath = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const optionalIdempotencyKey = { ...idempotencyKey, required: false, description: 'Makes a retried capture or refund safe: the first response is replayed.' };

const errors = {
  '400': errorResponse('Invalid request: FIELD_INVALID, FIELD_HOLDS_CARD_NUMBER, FIELD_UNKNOWN, BODY_MALFORMED, AMOUNT_INVALID, CURRENCY_UNKNOWN, ADDRESS_INVALID, RESOLVE_PORT_REQUIRED, CONTENT_DIGEST_MISMATCH, IDEMPOTENCY_KEY_MISSING, CAPTURE_EXCEEDS_AUTHORIZED, REFUND_EXCEEDS_CAPTURED'),
  '401': errorResponse('Signature refused: SIGNATURE_*'),
  '403': errorResponse('Merchant not allowed: MERCHANT_NOT_CERTIFIED, MERCHANT_REVOKED'),
  '404': errorResponse('AUTHORIZATION_NOT_FOUND, CUSTOMER_NOT_FOUND'),
  '409': errorResponse('AUTHORIZATION_STATE_INVALID, IDEMPOTENCY_KEY_IN_PROGRESS'),
  '413': errorResponse('BODY_TOO_LARGE'),
  '422': errorResponse('IDEMPOTENCY_KEY_REUSED'),
};

/**
 * The merchant API's OpenAPI 3.1 document, served at GET /v1/openapi.json. The SDK's
 * types are checked against it (test/certification/sdk-types-match-openapi.test.ts).
 */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Sideband merchant API',
    version: '1.0.0',
    description: `Authorize purchases by the customer's network address; the card stays with the provider.

Every request is signed (RFC 9421) with your registered Ed25519 key, covering at least \`@method\`, \`@target-uri\` and \`content-digest\` (RFC 9530), and \`idempotency-key\` whenever you send an Idempotency-Key, with the parameters \`created\`, \`expires\`, \`nonce\` and \`keyid\`.

Errors have one shape, \`{ "error": { "type", "code", "message", "param"? } }\`. Codes:
${describeCodes(merchantErrorCodes)}

The \`reason\` of a pending or declined authorization:
${describeCodes(outcomeReasons)}`,
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      httpMessageSignature: { type: 'apiKey', in: 'header', name: 'Signature', description: 'RFC 9421 HTTP Message Signature with Signature-Input; Ed25519; keyid is your registered key id.' },
    },
    schemas: {
      Error: {
        type: 'object', required: ['error'], additionalProperties: false,
        properties: { error: { type: 'object', required: ['type', 'code', 'message'], additionalProperties: false, properties: { type: { type: 'string' }, code: { type: 'string', enum: merchantErrorCodes }, message: { type: 'string' }, param: { type: 'string' } } } },
      },
      Customer: {
        type: 'object', required: ['address'], additionalProperties: false,
        properties: {
          address: { type: 'string', maxLength: 45, description: 'IPv4 or IPv6 address the purchase request came from: dotted decimal without leading zeros, or RFC 4291 IPv6 text without a zone index. IPv4-mapped IPv6 (::ffff:192.0.2.1) is read as the IPv4 address. Other notations (0x7f000001, 127.1, 0177.0.0.1) are refused.' },
          port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Source port (RFC 6302); required when the address is shared under carrier-grade NAT.' },
          observedAt: { type: 'string', format: 'date-time', description: 'When the request came (RFC 3339, with a zone; at most 60 s ahead of the gateway\'s clock); default now.' },
        },
      },
      CreateAuthorization: {
        type: 'object', required: ['customer', 'amount', 'currency'], additionalProperties: false,
        properties: {
          customer: ref('Customer'),
          amount: { type: 'integer', minimum: 1, maximum: 1_000_000_000_000, description: 'Minor units.' },
          currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217.' },
          description: { type: 'string', maxLength: 500, description: 'Stored in clear: no control characters but tab, LF and CR, no lone surrogates, and nothing that looks like a card number (FIELD_HOLDS_CARD_NUMBER).' },
          merchantReference: { type: 'string', maxLength: 200, description: 'Stored in clear: no control characters, no lone surrogates, and nothing that looks like a card number (FIELD_HOLDS_CARD_NUMBER).' },
          capture: { type: 'string', enum: ['automatic', 'manual'], default: 'manual' },
          settlement: { type: 'string', enum: ['card', 'provider_bill', 'merchant_bill'], description: 'Default: the merchant\'s registered preference.' },
        },
      },
      Authorization: {
        type: 'object', additionalProperties: false,
        required: ['id', 'object', 'status', 'reason', 'amount', 'currency', 'capturedAmount', 'refundedAmount', 'capture', 'settlement', 'description', 'merchantReference', 'customer', 'createdAt', 'expiresAt', 'billingDetails'],
        properties: {
          id: { type: 'string' },
          object: { type: 'string', const: 'authorization' },
          status: { type: 'string', enum: ['processing', 'pending', 'approved', 'declined', 'captured', 'voided', 'expired', 'refunded'] },
          reason: { type: ['string', 'null'], enum: [...outcomeReasons, null] },
          amount: { type: 'integer' },
          currency: { type: 'string' },
          capturedAmount: { type: 'integer' },
          refundedAmount: { type: 'integer' },
          capture: { type: 'string', enum: ['automatic', 'manual'] },
          settlement: { type: 'string', enum: ['card', 'provider_bill', 'merchant_bill'] },
          description: { type: ['string', 'null'] },
          merchantReference: { type: ['string', 'null'] },
          customer: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', description: 'Stable pseudonymous customer id, per merchant. Never the subscriber\'s identity.' } } },
          createdAt: { type: 'string', format: 'date-time' },
          expiresAt: { type: 'string', format: 'date-time', description: 'Pending: until the subscriber must confirm. Approved: until it must be captured.' },
          billingDetails: { type: ['string', 'null'], description: 'merchant_bill only: compact JWE (RFC 7516, ECDH-ES+A256KW or RSA-OAEP-256, A256GCM) to your registered encryption key.' },
        },
      },
      AuthorizationList: {
        type: 'object', required: ['object', 'data', 'hasMore'], additionalProperties: false,
        properties: { object: { type: 'string', const: 'list' }, data: { type: 'array', items: ref('Authorization') }, hasMore: { type: 'boolean' } },
      },
      CreateCapture: { type: 'object', additionalProperties: false, properties: { amount: { type: 'integer', minimum: 1, description: 'Default: all that is not yet captured.' } } },
      CreateRefund: { type: 'object', additionalProperties: false, properties: { amount: { type: 'integer', minimum: 1, description: 'Default: all that is captured and not yet refunded.' }, reason: { type: 'string', maxLength: 200, description: 'Stored in clear: as for description.' } } },
      Movement: {
        type: 'object', required: ['id', 'object', 'authorizationId', 'amount', 'currency', 'createdAt'], additionalProperties: false,
        properties: { id: { type: 'string' }, object: { type: 'string', enum: ['capture', 'refund'] }, authorizationId: { type: 'string' }, amount: { type: 'integer' }, currency: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
      },
      WebhookEvent: {
        type: 'object', required: ['id', 'type', 'createdAt', 'data'], additionalProperties: false,
        properties: {
          id: { type: 'string' },
          type: { type: 'string', enum: ['authorization.approved', 'authorization.pending', 'authorization.declined', 'authorization.captured', 'authorization.voided', 'authorization.expired', 'authorization.refunded'] },
          createdAt: { type: 'string', format: 'date-time' },
          data: ref('Authorization'),
        },
      },
    },
  },
  security: signed,
  paths: {
    '/v1/authorizations': {
      post: {
        operationId: 'createAuthorization',
        summary: 'Authorize a purchase by the customer\'s network address',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('CreateAuthorization') } } },
        responses: { '201': json(ref('Authorization'), 'The authorization: approved, pending or declined (see reason).'), ...errors },
      },
      get: {
        operationId: 'listAuthorizations',
        summary: 'List authorizations, newest first',
        parameters: [
          { name: 'status', in: 'query', schema: { type: 'string' } },
          { name: 'createdAfter', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'createdBefore', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'startingAfter', in: 'query', schema: { type: 'string' }, description: 'An authorization id: the page after it.' },
        ],
        responses: { '200': json(ref('AuthorizationList'), 'A page'), ...errors },
      },
    },
    '/v1/authorizations/{id}': { get: { operationId: 'getAuthorization', parameters: [idPath], responses: { '200': json(ref('Authorization'), 'The authorization'), ...errors } } },
    '/v1/authorizations/{id}/captures': {
      post: { operationId: 'captureAuthorization', parameters: [idPath, optionalIdempotencyKey], requestBody: { content: { 'application/json': { schema: ref('CreateCapture') } } }, responses: { '201': json(ref('Movement'), 'The capture'), ...errors } },
    },
    '/v1/authorizations/{id}/void': { post: { operationId: 'voidAuthorization', parameters: [idPath], responses: { '200': json(ref('Authorization'), 'The voided authorization'), ...errors } } },
    '/v1/authorizations/{id}/refunds': {
      post: { operationId: 'refundAuthorization', parameters: [idPath, optionalIdempotencyKey], requestBody: { content: { 'application/json': { schema: ref('CreateRefund') } } }, responses: { '201': json(ref('Movement'), 'The refund'), ...errors } },
    },
    '/v1/captures/{id}': { get: { operationId: 'getCapture', parameters: [idPath], responses: { '200': json(ref('Movement'), 'The capture'), ...errors } } },
    '/v1/refunds/{id}': { get: { operationId: 'getRefund', parameters: [idPath], responses: { '200': json(ref('Movement'), 'The refund'), ...errors } } },
    '/v1/webhook-keys': {
      get: {
        operationId: 'listWebhookKeys', security: [],
        summary: 'Public keys that sign webhook deliveries (Ed25519 JWKs)',
        responses: { '200': json({ type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } }, 'JWK set') },
      },
    },
    '/v1/openapi.json': { get: { operationId: 'getOpenApi', security: [], responses: { '200': json({ type: 'object' }, 'This document') } } },
  },
} as const;
