import { SidebandError } from '../../errors/sideband-error.ts';
import type { ExchangeRequest } from '../../channel/service/provider-channel.ts';

const count = (v: unknown, param: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100) throw new SidebandError('FIELD_INVALID', `${param} must be an integer from 0 to 100.`, { param });
  return v;
};

/** Parses the body of POST /v1/channel/exchanges. */
export function parseExchangeRequest(body: unknown): ExchangeRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['exchangeId', 'authorizationId', 'firstSender', 'items', 'number', 'token'].includes(k)) throw new SidebandError('FIELD_UNKNOWN', `Unknown field ${k}.`, { param: k });
  if (typeof b.authorizationId !== 'string') throw new SidebandError('FIELD_INVALID', 'authorizationId is required.', { param: 'authorizationId' });
  if (b.firstSender !== 'provider' && b.firstSender !== 'merchant') throw new SidebandError('FIELD_INVALID', 'firstSender is provider or merchant.', { param: 'firstSender' });
  const items = b.items as Record<string, unknown> | undefined;
  if (typeof items !== 'object' || items === null) throw new SidebandError('FIELD_INVALID', 'items is { provider, merchant }: how many items each party sends.', { param: 'items' });
  for (const k of ['number', 'token', 'exchangeId'] as const) {
    if (b[k] !== undefined && (typeof b[k] !== 'string' || (b[k] as string).length > 128)) throw new SidebandError('FIELD_INVALID', `${k} must be a string.`, { param: k });
  }
  return {
    authorizationId: b.authorizationId,
    firstSender: b.firstSender,
    items: { provider: count(items.provider, 'items.provider'), merchant: count(items.merchant, 'items.merchant') },
    ...(b.exchangeId !== undefined ? { exchangeId: b.exchangeId as string } : {}),
    ...(b.number !== undefined ? { number: b.number as string } : {}),
    ...(b.token !== undefined ? { token: b.token as string } : {}),
  };
}
