import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';

/** CAMARA's error body (CAMARA_common.yaml ErrorInfo): `{ status, code, message }`. */
export interface CamaraErrorInfo {
  status: number;
  code: string;
  message: string;
}

/**
 * Sideband's error codes as CAMARA's (CAMARA_common.yaml and the Carrier Billing
 * documents' responses). One entry per code that can reach a CAMARA route; anything else
 * is a fault (500 INTERNAL) or falls to its status's generic code.
 */
const camaraCode: Partial<Record<ErrorCode, [number, string]>> = {
  ACCESS_TOKEN_MISSING: [401, 'UNAUTHENTICATED'],
  ACCESS_TOKEN_INVALID: [401, 'UNAUTHENTICATED'],
  ACCESS_TOKEN_SCOPE_MISSING: [403, 'PERMISSION_DENIED'],
  MERCHANT_NOT_CERTIFIED: [403, 'PERMISSION_DENIED'],
  MERCHANT_REVOKED: [403, 'PERMISSION_DENIED'],
  BODY_MALFORMED: [400, 'INVALID_ARGUMENT'],
  BODY_TOO_LARGE: [400, 'INVALID_ARGUMENT'],
  FIELD_INVALID: [400, 'INVALID_ARGUMENT'],
  FIELD_UNKNOWN: [400, 'INVALID_ARGUMENT'],
  FIELD_HOLDS_CARD_NUMBER: [400, 'INVALID_ARGUMENT'],
  ADDRESS_INVALID: [400, 'INVALID_ARGUMENT'],
  REQUEST_INVALID: [400, 'INVALID_ARGUMENT'],
  RESOLVE_PORT_REQUIRED: [400, 'INVALID_ARGUMENT'],
  CURRENCY_UNKNOWN: [400, 'INVALID_ARGUMENT'],
  CAMARA_AMOUNT_INVALID: [400, 'INVALID_ARGUMENT'],
  CAMARA_SINK_INVALID: [400, 'INVALID_SINK'],
  CAMARA_SINK_CREDENTIAL_INVALID: [400, 'INVALID_CREDENTIAL'],
  CAMARA_SINK_TOKEN_INVALID: [400, 'INVALID_TOKEN'],
  // CAMARA's Identity and Consent Management answers a missing consent with 403 PERMISSION_DENIED.
  CAMARA_CONSENT_MISSING: [403, 'PERMISSION_DENIED'],
  // The Carrier Billing document's own example: "clientCorrelator already exist on server".
  IDEMPOTENCY_KEY_REUSED: [400, 'INVALID_ARGUMENT'],
  IDEMPOTENCY_KEY_IN_PROGRESS: [409, 'ALREADY_EXISTS'],
  CUSTOMER_NOT_FOUND: [404, 'IDENTIFIER_NOT_FOUND'],
  CAMARA_IDENTIFIER_NOT_FOUND: [404, 'IDENTIFIER_NOT_FOUND'],
  CAMARA_IDENTIFIER_MISSING: [422, 'MISSING_IDENTIFIER'],
  CAMARA_SERVICE_NOT_APPLICABLE: [422, 'SERVICE_NOT_APPLICABLE'],
  AUTHORIZATION_NOT_FOUND: [404, 'NOT_FOUND'],
  NOT_FOUND: [404, 'NOT_FOUND'],
  ACQUIRER_UNAVAILABLE: [503, 'UNAVAILABLE'],
};

/** A declined authorization's reason as CAMARA's refusal of the payment. */
export function declinedAs(reason: string | null): CamaraErrorInfo {
  switch (reason) {
    case 'SPENDING_LIMIT_EXCEEDED':
      return { status: 422, code: 'CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED', message: 'Unauthorized payment request. Accumulated user payments overpass the spending limit.' };
    case 'CREDIT_LIMIT_EXCEEDED':
      return { status: 422, code: 'CARRIER_BILLING.UNAUTHORIZED_AMOUNT', message: 'Unauthorized amount requested.' };
    default:
      return { status: 403, code: 'CARRIER_BILLING.PAYMENT_DENIED', message: `Payment denied by business (${reason ?? 'declined'}).` };
  }
}

export class CamaraError extends Error {
  constructor(readonly info: CamaraErrorInfo) {
    super(info.message);
  }
}

export function camaraErrorOf(e: unknown): CamaraErrorInfo | null {
  if (e instanceof CamaraError) return e.info;
  if (!(e instanceof SidebandError)) return null;
  const mapped = camaraCode[e.code];
  if (mapped) return { status: mapped[0], code: mapped[1], message: e.message };
  if (e.status === 401) return { status: 401, code: 'UNAUTHENTICATED', message: e.message };
  if (e.status === 403) return { status: 403, code: 'PERMISSION_DENIED', message: e.message };
  if (e.status === 404) return { status: 404, code: 'NOT_FOUND', message: e.message };
  if (e.status < 500) return { status: 400, code: 'INVALID_ARGUMENT', message: e.message };
  return null;
}
