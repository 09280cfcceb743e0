import { SidebandError } from '../../errors/sideband-error.ts';
import { ADDRESS_OF_RECORD_NUMBER } from '../../channel/exchange/exchange-options.ts';
import type { ExchangeRequest } from '../../channel/service/provider-channel.ts';
import { onlyKnownFields } from './known-fields.ts';
import { textField } from './text-field.ts';
import { CreateChannelExchange } from './contract/merchant-api-schemas.ts';

const bodyFields = Object.keys(CreateChannelExchange.shape);
const itemFields = Object.keys(CreateChannelExchange.shape.items.shape);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const count = (v: unknown, param: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100) throw new SidebandError('FIELD_INVALID', `${param} must be an integer from 0 to 100.`, { param });
  return v;
};

/**
 * Parses the body of POST /v1/channel/exchanges, before anything is looked up or written:
 * identifiers without control characters (text-field.ts), the merchant's `exchangeId`
 * (stored in clear) without a card number, `number` an address-of-record number.
 */
export function parseExchangeRequest(body: unknown): ExchangeRequest {
  if (!isObject(body)) throw new SidebandError('BODY_MALFORMED', 'The body must be a JSON object.');
  onlyKnownFields(body, bodyFields, '');
  if (body.authorizationId === undefined) throw new SidebandError('FIELD_INVALID', 'authorizationId is required.', { param: 'authorizationId' });
  const authorizationId = textField(body.authorizationId, 'authorizationId', { max: 128 });
  if (body.firstSender !== 'provider' && body.firstSender !== 'merchant') throw new SidebandError('FIELD_INVALID', 'firstSender is provider or merchant.', { param: 'firstSender' });
  const items = body.items;
  if (!isObject(items)) throw new SidebandError('FIELD_INVALID', 'items is { provider, merchant }: how many items each party sends.', { param: 'items' });
  onlyKnownFields(items, itemFields, 'items.');
  const number = body.number === undefined ? undefined : textField(body.number, 'number', { max: 128 });
  if (number !== undefined && !ADDRESS_OF_RECORD_NUMBER.test(number)) throw new SidebandError('FIELD_INVALID', 'number must be digits with an optional leading "+" (at most 32).', { param: 'number' });
  return {
    authorizationId,
    firstSender: body.firstSender,
    items: { provider: count(items.provider, 'items.provider'), merchant: count(items.merchant, 'items.merchant') },
    ...(body.exchangeId !== undefined ? { exchangeId: textField(body.exchangeId, 'exchangeId', { max: 128, noCardNumbers: true }) } : {}),
    ...(number !== undefined ? { number } : {}),
    ...(body.token !== undefined ? { token: textField(body.token, 'token', { max: 128 }) } : {}),
  };
}
