import type { AuthorizationRow } from '../authorization/authorization-record.ts';
import type { CamaraPaymentTable } from '../../store/schema.ts';
import { majorUnits } from './payment-request.ts';

export type PaymentStatus = 'processing' | 'pending_validation' | 'denied' | 'reserved' | 'succeeded' | 'cancelled';

/**
 * The authorization's state as CAMARA's paymentStatus (docs/camara.md has the table):
 * waiting for the subscriber or the acquirer is `processing`; a two-step payment's
 * approved hold is `reserved`; anything captured is `succeeded` (refunds are their own
 * resources); released before capture is `cancelled`; declined is `denied`. The list
 * computes the same in SQL (carrier-billing-routes.ts `statusInSql`): change both together.
 */
export function paymentStatus(row: Pick<AuthorizationRow, 'status' | 'captured_amount'>, flow: CamaraPaymentTable['flow']): PaymentStatus {
  switch (row.status) {
    case 'pending':
    case 'processing':
      return 'processing';
    case 'approved':
      return flow === 'two-step' ? 'reserved' : 'processing';
    case 'captured':
    case 'refunded':
      return 'succeeded';
    case 'voided':
    case 'expired':
      return row.captured_amount > 0 ? 'succeeded' : 'cancelled';
    default:
      return 'denied';
  }
}

/**
 * Payment (carrier-billing-v0.5.yaml): what the merchant sees; never the subscriber's
 * login, session or card. The phone number is one the merchant may see (the routes' `load`).
 */
export function paymentView(row: Pick<AuthorizationRow, 'id' | 'status' | 'amount' | 'currency' | 'description' | 'captured_amount' | 'created_at'>, payment: Pick<CamaraPaymentTable, 'flow' | 'phone_number' | 'client_correlator' | 'reference_code'>) {
  return {
    paymentId: row.id,
    amountTransaction: {
      phoneNumber: payment.phone_number,
      ...(payment.client_correlator !== null ? { clientCorrelator: payment.client_correlator } : {}),
      paymentAmount: { chargingInformation: { amount: majorUnits(row.amount, row.currency), currency: row.currency, description: row.description ?? '' } },
      referenceCode: payment.reference_code,
      resourceURL: `urn:payments:${row.id}`,
    },
    paymentStatus: paymentStatus(row, payment.flow),
    paymentCreationDate: new Date(row.created_at).toISOString(),
  };
}
