import { z } from 'zod';
import { authorizationStatuses, describeCodes, merchantApiSchemas, merchantErrorCodes, outcomeReasons } from './contract/merchant-api-schemas.ts';

type SchemaName = keyof typeof merchantApiSchemas;
type JsonSchema = Record<string, unknown>;

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema, description: string) => ({ description, content: { 'application/json': { schema } } });
const errorResponse = (description: string) => json(ref('Error'), description);

const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 }, description: 'Unique per purchase; the stored first response is replayed for 24 hours.' };
const optionalIdempotencyKey = { ...idempotencyKey, required: false, description: 'Makes a retried call safe: the first response is replayed.' };
const idPath = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' } };

const errors = {
  '400': errorResponse('Invalid request: FIELD_INVALID, FIELD_HOLDS_CARD_NUMBER, FIELD_UNKNOWN, BODY_MALFORMED, AMOUNT_INVALID, CURRENCY_UNKNOWN, ADDRESS_INVALID, RESOLVE_PORT_REQUIRED, CONTENT_DIGEST_MISMATCH, IDEMPOTENCY_KEY_MISSING, CAPTURE_EXCEEDS_AUTHORIZED, REFUND_EXCEEDS_CAPTURED, CHANNEL_DIRECTION_RULE'),
  '401': errorResponse('Signature refused: SIGNATURE_*'),
  '403': errorResponse('Merchant not allowed: MERCHANT_NOT_CERTIFIED, MERCHANT_REVOKED'),
  '404': errorResponse('AUTHORIZATION_NOT_FOUND, CUSTOMER_NOT_FOUND, CHANNEL_EXCHANGE_NOT_FOUND, NOT_FOUND'),
  '409': errorResponse('AUTHORIZATION_STATE_INVALID, IDEMPOTENCY_KEY_IN_PROGRESS, CHANNEL_NOT_CONFIGURED, CHANNEL_EXCHANGE_STATE_INVALID'),
  '413': errorResponse('BODY_TOO_LARGE'),
  '422': errorResponse('IDEMPOTENCY_KEY_REUSED'),
  '500': errorResponse('INTERNAL'),
  '503': errorResponse('ACQUIRER_UNAVAILABLE, CHANNEL_UNAVAILABLE, CHANNEL_POOL_EXHAUSTED (with Retry-After)'),
};

/**
 * One route of the merchant API: what merchant-api.ts serves and the document lists. A
 * test checks that the two agree, route by route.
 */
export interface MerchantRoute {
  method: 'get' | 'post';
  path: string;
  operationId: string;
  summary: string;
  parameters?: JsonSchema[];
  body?: { schema: SchemaName; required: boolean };
  response: { status: '200' | '201'; schema: SchemaName | JsonSchema; description: string };
  /** Unsigned (the document itself, the webhook keys). */
  public?: true;
}

export const merchantRoutes: MerchantRoute[] = [
  { method: 'post', path: '/v1/authorizations', operationId: 'createAuthorization', summary: 'Authorize a purchase by the customer\'s network address', parameters: [idempotencyKey], body: { schema: 'CreateAuthorization', required: true }, response: { status: '201', schema: 'Authorization', description: 'The authorization: approved, pending or declined (see reason).' } },
  {
    method: 'get', path: '/v1/authorizations', operationId: 'listAuthorizations', summary: 'List authorizations, newest first',
    parameters: [
      { name: 'status', in: 'query', schema: { type: 'string', enum: [...authorizationStatuses] } },
      { name: 'createdAfter', in: 'query', schema: { type: 'string', format: 'date-time' } },
      { name: 'createdBefore', in: 'query', schema: { type: 'string', format: 'date-time' } },
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
      { name: 'startingAfter', in: 'query', schema: { type: 'string' }, description: 'An authorization id: the page after it.' },
    ],
    response: { status: '200', schema: 'AuthorizationList', description: 'A page' },
  },
  { method: 'get', path: '/v1/authorizations/{id}', operationId: 'getAuthorization', summary: 'Retrieve an authorization', parameters: [idPath], response: { status: '200', schema: 'Authorization', description: 'The authorization' } },
  { method: 'post', path: '/v1/authorizations/{id}/captures', operationId: 'captureAuthorization', summary: 'Capture all or part of an approved authorization', parameters: [idPath, optionalIdempotencyKey], body: { schema: 'CreateCapture', required: false }, response: { status: '201', schema: 'Movement', description: 'The capture' } },
  { method: 'post', path: '/v1/authorizations/{id}/void', operationId: 'voidAuthorization', summary: 'Void an authorization not captured', parameters: [idPath, optionalIdempotencyKey], response: { status: '200', schema: 'Authorization', description: 'The voided authorization' } },
  { method: 'post', path: '/v1/authorizations/{id}/refunds', operationId: 'refundAuthorization', summary: 'Refund all or part of what was captured', parameters: [idPath, optionalIdempotencyKey], body: { schema: 'CreateRefund', required: false }, response: { status: '201', schema: 'Movement', description: 'The refund' } },
  { method: 'get', path: '/v1/captures/{id}', operationId: 'getCapture', summary: 'Retrieve a capture', parameters: [idPath], response: { status: '200', schema: 'Movement', description: 'The capture' } },
  { method: 'get', path: '/v1/refunds/{id}', operationId: 'getRefund', summary: 'Retrieve a refund', parameters: [idPath], response: { status: '200', schema: 'Movement', description: 'The refund' } },
  { method: 'get', path: '/v1/channel', operationId: 'getChannelCapabilities', summary: 'The provider\'s end of the secure channel: its line number and certificate fingerprint', response: { status: '200', schema: 'ChannelCapabilities', description: 'What to register at your channel endpoint' } },
  { method: 'post', path: '/v1/channel/exchanges', operationId: 'createChannelExchange', summary: 'Start an exchange over the secure channel for an authorization', parameters: [optionalIdempotencyKey], body: { schema: 'CreateChannelExchange', required: true }, response: { status: '201', schema: 'ChannelExchange', description: 'The exchange: whether the channel is up, and who calls whom' } },
  { method: 'get', path: '/v1/channel/exchanges/{id}', operationId: 'getChannelExchange', summary: 'Retrieve an exchange', parameters: [idPath], response: { status: '200', schema: 'ChannelExchange', description: 'The exchange' } },
  { method: 'get', path: '/v1/webhook-keys', operationId: 'listWebhookKeys', summary: 'Public keys that sign webhook deliveries (Ed25519 JWKs)', public: true, response: { status: '200', schema: 'WebhookKeySet', description: 'JWK set' } },
  { method: 'get', path: '/v1/openapi.json', operationId: 'getOpenApi', summary: 'This document', public: true, response: { status: '200', schema: { type: 'object' }, description: 'This document' } },
];

/** components.schemas from the contract, through z.toJSONSchema (JSON Schema 2020-12, OpenAPI 3.1's dialect). */
function componentSchemas(): Record<SchemaName, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(merchantApiSchemas)) registry.add(schema, { id: name });
  const all = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, target: 'draft-2020-12', unrepresentable: 'throw' }).schemas;
  const out: Record<string, JsonSchema> = {};
  for (const [name, { $schema: _s, $id: _i, ...schema }] of Object.entries(all)) out[name] = schema;
  return out as Record<SchemaName, JsonSchema>;
}

function paths() {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of merchantRoutes) {
    const response = typeof r.response.schema === 'string' ? ref(r.response.schema) : r.response.schema;
    out[r.path] ??= {};
    out[r.path]![r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.public ? { security: [] } : {}),
      ...(r.parameters ? { parameters: r.parameters } : {}),
      ...(r.body ? { requestBody: { required: r.body.required, content: { 'application/json': { schema: ref(r.body.schema) } } } } : {}),
      responses: { [r.response.status]: json(response, r.response.description), ...(r.public ? {} : errors) },
    };
  }
  return out;
}

/**
 * The merchant API's OpenAPI 3.1 document, served at GET /v1/openapi.json, derived from
 * the contract (contract/merchant-api-schemas.ts) and the route table above.
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
    schemas: componentSchemas(),
  },
  security: [{ httpMessageSignature: [] as string[] }],
  paths: paths(),
};
