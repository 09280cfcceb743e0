import { canonicalAddress } from '../../core/network/cidr.ts';
import { assertAmount, assertCurrency, currencies } from '../../core/money/currency.ts';
import { parseRfc3339 } from '../../core/time/rfc3339.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { CreateAuthorization } from '../authorization/authorization-service.ts';
import { onlyKnownFields } from './known-fields.ts';
import { optionalTextField } from './text-field.ts';
import { CaptureMode, CreateAuthorization as CreateAuthorizationSchema, CreateCapture, CreateRefund, Customer, Settlement } from './contract/merchant-api-schemas.ts';

// Field names, enumerations and lengths come from the contract; the checks a JSON Schema
// cannot state (strict address notation, card numbers in stored text, RFC 3339 with a zone) are here.
const bodyFields = Object.keys(CreateAuthorizationSchema.shape);
const customerFields = Object.keys(Customer.shape);
const maxLength = (field: 'description' | 'merchantReference') => CreateAuthorizationSchema.shape[field].unwrap().maxLength!;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How far ahead of the gateway's clock `customer.observedAt` may be (the merchant's clock skew). */
const OBSERVED_AT_SKEW_MS = 60_000;

function oneOf<T extends string>(value: unknown, param: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new SidebandError('FIELD_INVALID', `${param} must be one of ${allowed.join(', ')}.`, { param });
  return value as T;
}

/**
 * Parses the JSON body of POST /v1/authorizations; every refusal names its field. It runs
 * before anything is written or sent to the acquirer, so all a body can get wrong is
 * refused here with a 4xx: text fields with control characters, lone surrogates or a card
 * number (text-field.ts), addresses in other than strict notation (canonicalAddress), times
 * that are not RFC 3339 with a zone, amounts that are not whole minor units in range.
 */
export function parseCreateAuthorization(body: unknown, now = Date.now()): CreateAuthorization {
  if (!isObject(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  onlyKnownFields(body, bodyFields, '');
  const customer = body.customer;
  if (!isObject(customer)) throw new SidebandError('FIELD_INVALID', 'customer is required: { address, port?, observedAt? }.', { param: 'customer' });
  onlyKnownFields(customer, customerFields, 'customer.');
  if (typeof customer.address !== 'string') throw new SidebandError('FIELD_INVALID', 'customer.address is required: the IPv4 or IPv6 address the purchase came from.', { param: 'customer.address' });
  const address = canonicalAddress(customer.address, 'customer.address');
  let port: number | undefined;
  if (customer.port !== undefined) {
    if (typeof customer.port !== 'number' || !Number.isInteger(customer.port) || customer.port < 0 || customer.port > 65535) throw new SidebandError('FIELD_INVALID', 'customer.port must be an integer from 0 to 65535.', { param: 'customer.port' });
    port = customer.port;
  }
  let observedAt: number | undefined;
  if (customer.observedAt !== undefined) {
    const t = typeof customer.observedAt === 'string' ? parseRfc3339(customer.observedAt) : undefined;
    if (t === undefined) throw new SidebandError('FIELD_INVALID', 'customer.observedAt must be an RFC 3339 time with a zone, such as 2026-11-23T12:00:00Z.', { param: 'customer.observedAt' });
    if (t > now + OBSERVED_AT_SKEW_MS) throw new SidebandError('FIELD_INVALID', `customer.observedAt is more than ${OBSERVED_AT_SKEW_MS / 1000} s in the future; check the clock.`, { param: 'customer.observedAt' });
    observedAt = t;
  }
  if (body.amount === undefined) throw new SidebandError('FIELD_INVALID', 'amount is required, in minor units.', { param: 'amount' });
  const amount = assertAmount(body.amount, 'amount', { allowZero: false, currency: typeof body.currency === 'string' && Object.hasOwn(currencies, body.currency) ? body.currency : undefined });
  if (typeof body.currency !== 'string') throw new SidebandError('FIELD_INVALID', 'currency is required: an ISO 4217 code.', { param: 'currency' });
  const currency = assertCurrency(body.currency);
  return {
    customer: { address, port, observedAt },
    amount,
    currency,
    description: optionalTextField(body.description, 'description', { max: maxLength('description'), lineBreaks: true, noCardNumbers: true }),
    merchantReference: optionalTextField(body.merchantReference, 'merchantReference', { max: maxLength('merchantReference'), noCardNumbers: true }),
    capture: oneOf(body.capture, 'capture', CaptureMode.options) ?? 'manual',
    settlement: oneOf(body.settlement, 'settlement', Settlement.options),
  };
}

/** Parses the optional body of a capture or refund. */
export function parseMovement(body: unknown, allowReason: boolean): { amount?: number | undefined; reason: string | null } {
  if (body === undefined || body === null) return { reason: null };
  if (!isObject(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  onlyKnownFields(body, Object.keys((allowReason ? CreateRefund : CreateCapture).shape), '');
  return {
    amount: body.amount === undefined ? undefined : assertAmount(body.amount, 'amount', { allowZero: false }),
    reason: allowReason ? optionalTextField(body.reason, 'reason', { max: CreateRefund.shape.reason.unwrap().maxLength!, lineBreaks: true, noCardNumbers: true }) : null,
  };
}
