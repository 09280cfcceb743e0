import { currencies } from '../../core/money/currency.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { optionalTextField, textField } from '../api/text-field.ts';
import { parseSink, type Sink } from './camara-notifications.ts';
import { minorUnits, object } from './payment-request.ts';

export interface RefundRequest {
  type: 'total' | 'partial';
  clientCorrelator: string | null;
  referenceCode: string;
  reason: string | null;
  /** A partial refund's amount; a total refund takes whatever is left. */
  amount: { minor: number; currency: string; description: string } | null;
  sink: Sink | null;
}

/**
 * CreateTotalRefund / CreatePartialRefund (carrier-billing-refund-v0.3.yaml), checked
 * whole before anything is written. A total refund names no amount ("whole amount is
 * refunded so as it is not indicated"); a partial one its chargingInformation. Taxes,
 * chargingMetaData and refundDetails are accepted and not stored.
 */
export function parseRefundRequest(body: unknown, options: { sinkLoopbackHttp: boolean }): RefundRequest {
  const b = object(body, 'body');
  if (b.type !== 'total' && b.type !== 'partial') throw new SidebandError('FIELD_INVALID', 'type must be total or partial.', { param: 'type' });
  const sink = parseSink(b, options.sinkLoopbackHttp);
  const t = object(b.amountTransaction, 'amountTransaction');
  const refundAmount = object(t.refundAmount, 'amountTransaction.refundAmount');
  let amount: RefundRequest['amount'] = null;
  if (b.type === 'total') {
    if (refundAmount.chargingInformation !== undefined) throw new SidebandError('FIELD_INVALID', 'A total refund names no amount: leave refundAmount.chargingInformation out, or ask for a partial refund.', { param: 'amountTransaction.refundAmount.chargingInformation' });
  } else {
    const param = 'amountTransaction.refundAmount.chargingInformation';
    const charging = object(refundAmount.chargingInformation, param);
    if (typeof charging.currency !== 'string' || !Object.hasOwn(currencies, charging.currency)) throw new SidebandError('CURRENCY_UNKNOWN', 'Currency is unknown or not authorized.', { param: `${param}.currency` });
    amount = {
      minor: minorUnits(charging.amount, charging.currency, `${param}.amount`),
      currency: charging.currency,
      description: textField(charging.description, `${param}.description`, { max: 500, lineBreaks: true, noCardNumbers: true }),
    };
  }
  const clientCorrelator = optionalTextField(t.clientCorrelator, 'amountTransaction.clientCorrelator', { max: 200 });
  const reason = optionalTextField(b.reason, 'reason', { max: 500, lineBreaks: true, noCardNumbers: true });
  return {
    type: b.type,
    clientCorrelator: clientCorrelator === '' ? null : clientCorrelator,
    referenceCode: textField(t.referenceCode, 'amountTransaction.referenceCode', { max: 200, noCardNumbers: true }),
    reason: reason === '' ? null : reason,
    amount,
    sink,
  };
}
