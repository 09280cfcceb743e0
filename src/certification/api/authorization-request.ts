import { canonicalAddress } from '../../core/network/cidr.ts';
import { assertAmount, assertCurrency } from '../../core/money/currency.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { CreateAuthorization } from '../authorization/authorization-service.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyFields(value: Json, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new SidebandError('FIELD_UNKNOWN', `Unknown field ${prefix}${key}; the fields are ${allowed.join(', ')}.`, { param: `${prefix}${key}` });
  }
}

function optionalText(value: unknown, param: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw new SidebandError('FIELD_INVALID', `${param} must be a string of at most ${max} characters.`, { param });
  return value;
}

function oneOf<T extends string>(value: unknown, param: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new SidebandError('FIELD_INVALID', `${param} must be one of ${allowed.join(', ')}.`, { param });
  return value as T;
}

/** Parses the JSON body of POST /v1/authorizations; every refusal names its field. */
export function parseCreateAuthorization(body: unknown, now = Date.now()): CreateAuthorization {
  if (!isObject(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  onlyFields(body, ['customer', 'amount', 'currency', 'description', 'merchantReference', 'capture', 'settlement'], '');
  const customer = body.customer;
  if (!isObject(customer)) throw new SidebandError('FIELD_INVALID', 'customer is required: { address, port?, observedAt? }.', { param: 'customer' });
  onlyFields(customer, ['address', 'port', 'observedAt'], 'customer.');
  if (typeof customer.address !== 'string') throw new SidebandError('FIELD_INVALID', 'customer.address is required: the IPv4 or IPv6 address the purchase came from.', { param: 'customer.address' });
  const address = canonicalAddress(customer.address, 'customer.address');
  let port: number | undefined;
  if (customer.port !== undefined) {
    if (typeof customer.port !== 'number' || !Number.isInteger(customer.port) || customer.port < 0 || customer.port > 65535) throw new SidebandError('FIELD_INVALID', 'customer.port must be an integer from 0 to 65535.', { param: 'customer.port' });
    port = customer.port;
  }
  let observedAt: number | undefined;
  if (customer.observedAt !== undefined) {
    const t = typeof customer.observedAt === 'string' && /T.*(Z|[+-]\d{2}:\d{2})$/.test(customer.observedAt) ? Date.parse(customer.observedAt) : NaN;
    if (Number.isNaN(t)) throw new SidebandError('FIELD_INVALID', 'customer.observedAt must be an ISO 8601 time with a zone.', { param: 'customer.observedAt' });
    if (t > now + 60_000) throw new SidebandError('FIELD_INVALID', 'customer.observedAt is in the future.', { param: 'customer.observedAt' });
    observedAt = t;
  }
  if (body.amount === undefined) throw new SidebandError('FIELD_INVALID', 'amount is required, in minor units.', { param: 'amount' });
  const amount = assertAmount(body.amount, 'amount', { allowZero: false });
  if (typeof body.currency !== 'string') throw new SidebandError('FIELD_INVALID', 'currency is required: an ISO 4217 code.', { param: 'currency' });
  const currency = assertCurrency(body.currency);
  return {
    customer: { address, port, observedAt },
    amount,
    currency,
    description: optionalText(body.description, 'description', 500),
    merchantReference: optionalText(body.merchantReference, 'merchantReference', 200),
    capture: oneOf(body.capture, 'capture', ['automatic', 'manual'] as const) ?? 'manual',
    settlement: oneOf(body.settlement, 'settlement', ['card', 'provider_bill', 'merchant_bill'] as const),
  };
}

/** Parses the optional body of a capture or refund. */
export function parseMovement(body: unknown, allowReason: boolean): { amount?: number | undefined; reason: string | null } {
  if (body === undefined || body === null) return { reason: null };
  if (!isObject(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  onlyFields(body, allowReason ? ['amount', 'reason'] : ['amount'], '');
  return {
    amount: body.amount === undefined ? undefined : assertAmount(body.amount, 'amount', { allowZero: false }),
    reason: allowReason ? optionalText(body.reason, 'reason', 200) : null,
  };
}
