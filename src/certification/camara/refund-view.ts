import type { CamaraRefundTable } from '../../store/schema.ts';
import { majorUnits } from './payment-request.ts';

/**
 * TotalRefund / PartialRefund (carrier-billing-refund-v0.3.yaml). A refund is recorded in
 * the ledger when it is created, so it is `succeeded` at once (the acquirer's part follows
 * through the outbox); its creation is also when it is performed (`refundDate`).
 */
export function refundView(r: CamaraRefundTable, currency: string) {
  return {
    refundId: r.refund_id,
    refundStatus: r.status,
    type: r.type,
    refundCreationDate: new Date(r.created_at).toISOString(),
    refundDate: new Date(r.created_at).toISOString(),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    amountTransaction: {
      ...(r.client_correlator !== null ? { clientCorrelator: r.client_correlator } : {}),
      referenceCode: r.reference_code,
      refundAmount: r.type === 'total' ? {} : { chargingInformation: { amount: majorUnits(r.amount, currency), currency, description: r.description ?? '' } },
    },
  };
}
