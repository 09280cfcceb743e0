import { currencies } from '../../core/money/currency.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { E164 } from '../../provisioning/subscribers.ts';
import { optionalTextField, textField } from '../api/text-field.ts';
import { parseSink, type Sink } from './camara-notifications.ts';

const MAX_MINOR = 1_000_000_000_000;

/** Who pays: CAMARA's `phoneNumber`, and beyond the Carrier Billing document CAMARA's Device object's addresses. */
export interface PaymentIdentifier {
  phoneNumber: string | null;
  address: { address: string; port?: number | undefined } | null;
}

export interface PaymentRequest {
  identifier: PaymentIdentifier;
  clientCorrelator: string | null;
  referenceCode: string;
  amount: number;
  currency: string;
  description: string;
  sink: Sink | null;
}

export const object = (v: unknown, param: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SidebandError('FIELD_INVALID', `${param} must be an object.`, { param });
  return v as Record<string, unknown>;
};

const phone = (v: unknown, param: string): string | null => {
  if (v === undefined) return null;
  if (typeof v !== 'string' || !E164.test(v)) throw new SidebandError('FIELD_INVALID', `${param} must be E.164: + and 5 to 15 digits.`, { param });
  return v;
};

/** A major-unit amount (19.99) as minor units (1999), refusing what the currency cannot hold. */
export function minorUnits(amount: unknown, currency: string, param = 'amountTransaction.paymentAmount.chargingInformation.amount'): number {
  const exponent = currencies[currency]!;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) throw new SidebandError('CAMARA_AMOUNT_INVALID', 'chargingInformation.amount must be a positive number.', { param });
  const scaled = amount * 10 ** exponent;
  const minor = Math.round(scaled);
  // A binary float is never exact (19.99 * 100 = 1998.9999999999998): closer than 1e-6 is the same amount.
  if (Math.abs(scaled - minor) > 1e-6) throw new SidebandError('CAMARA_AMOUNT_INVALID', `chargingInformation.amount has more than ${exponent} decimal places for ${currency}.`, { param });
  if (minor < 1 || minor > MAX_MINOR) throw new SidebandError('CAMARA_AMOUNT_INVALID', 'chargingInformation.amount is out of range.', { param });
  return minor;
}

/** Minor units as CAMARA's major-unit number. */
export const majorUnits = (minor: number, currency: string): number => Number((minor / 10 ** currencies[currency]!).toFixed(currencies[currency]!));

/**
 * CAMARA's `device` (CAMARA_common.yaml Device): `ipv4Address { publicAddress,
 * publicPort }` — a private address cannot be resolved from the provider's side, so it
 * is ignored and the public port is what tells apart customers behind one CGNAT address —
 * or `ipv6Address`, resolved at the time of the request; `phoneNumber`; and
 * `networkAccessIdentifier`, which Sideband has no record of.
 */
function device(v: unknown): PaymentIdentifier {
  const d = object(v, 'device');
  if (d.networkAccessIdentifier !== undefined) throw new SidebandError('CAMARA_SERVICE_NOT_APPLICABLE', 'device.networkAccessIdentifier is not an identifier this provider keeps; send an address or phoneNumber.', { param: 'device.networkAccessIdentifier' });
  let address: PaymentIdentifier['address'] = null;
  if (d.ipv4Address !== undefined) {
    const a = object(d.ipv4Address, 'device.ipv4Address');
    if (typeof a.publicAddress !== 'string') throw new SidebandError('FIELD_INVALID', 'device.ipv4Address.publicAddress must be an IPv4 address.', { param: 'device.ipv4Address.publicAddress' });
    if (a.publicPort !== undefined && (!Number.isInteger(a.publicPort) || (a.publicPort as number) < 0 || (a.publicPort as number) > 65535)) throw new SidebandError('FIELD_INVALID', 'device.ipv4Address.publicPort must be 0 to 65535.', { param: 'device.ipv4Address.publicPort' });
    address = { address: a.publicAddress, port: a.publicPort as number | undefined };
  }
  if (d.ipv6Address !== undefined) {
    if (address) throw new SidebandError('FIELD_INVALID', 'device names both ipv4Address and ipv6Address; send the one the connection came from.', { param: 'device' });
    if (typeof d.ipv6Address !== 'string') throw new SidebandError('FIELD_INVALID', 'device.ipv6Address must be an IPv6 address.', { param: 'device.ipv6Address' });
    address = { address: d.ipv6Address };
  }
  return { phoneNumber: phone(d.phoneNumber, 'device.phoneNumber'), address };
}

/**
 * CreatePayment and BodyAmountReservationTransactionForReserveInput (carrier-billing-v0.5.yaml):
 * checked whole before anything is written. Fields the document defines and Sideband
 * does not use (taxes, chargingMetaData, paymentDetails) are accepted and not stored.
 */
export function parsePaymentRequest(body: unknown, options: { sinkLoopbackHttp: boolean }): PaymentRequest {
  const b = object(body, 'body');
  const sink = parseSink(b, options.sinkLoopbackHttp);
  const t = object(b.amountTransaction, 'amountTransaction');
  const charging = object(object(t.paymentAmount, 'amountTransaction.paymentAmount').chargingInformation, 'amountTransaction.paymentAmount.chargingInformation');
  if (typeof charging.currency !== 'string' || !Object.hasOwn(currencies, charging.currency)) throw new SidebandError('CURRENCY_UNKNOWN', 'Currency is unknown or not authorized.', { param: 'amountTransaction.paymentAmount.chargingInformation.currency' });
  const currency = charging.currency;
  const fromDevice = b.device === undefined ? { phoneNumber: null, address: null } : device(b.device);
  const phoneNumber = phone(t.phoneNumber, 'amountTransaction.phoneNumber');
  if (phoneNumber && fromDevice.phoneNumber && phoneNumber !== fromDevice.phoneNumber) throw new SidebandError('CAMARA_IDENTIFIER_NOT_FOUND', 'amountTransaction.phoneNumber and device.phoneNumber differ.', { param: 'device.phoneNumber' });
  const identifier = { phoneNumber: phoneNumber ?? fromDevice.phoneNumber, address: fromDevice.address };
  if (!identifier.phoneNumber && !identifier.address) throw new SidebandError('CAMARA_IDENTIFIER_MISSING', 'The phone number cannot be identified: send amountTransaction.phoneNumber or device.', { param: 'amountTransaction.phoneNumber' });
  const clientCorrelator = optionalTextField(t.clientCorrelator, 'amountTransaction.clientCorrelator', { max: 200 });
  return {
    identifier,
    clientCorrelator: clientCorrelator === '' ? null : clientCorrelator,
    referenceCode: textField(t.referenceCode, 'amountTransaction.referenceCode', { max: 200, noCardNumbers: true }),
    amount: minorUnits(charging.amount, currency),
    currency,
    description: textField(charging.description, 'amountTransaction.paymentAmount.chargingInformation.description', { max: 500, lineBreaks: true, noCardNumbers: true }),
    sink,
  };
}
