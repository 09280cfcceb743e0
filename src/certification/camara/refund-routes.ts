import type { FastifyInstance, FastifyReply } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { CamaraRefundTable } from '../../store/schema.ts';
import type { AuthorizationService } from '../authorization/authorization-service.ts';
import { IdempotencyKeys, type IdempotencyClaim } from '../api/idempotency.ts';
import { parseJsonBody } from '../api/json-body.ts';
import { CamaraError, camaraErrorOf, type CamaraErrorInfo } from './camara-error.ts';
import { camaraHooks, listQuery, merchantOf, pathId, type CamaraRequest as Camara } from './camara-http.ts';
import { CARRIER_BILLING_REFUND_BASE, notifyRefundSink } from './camara-notifications.ts';
import type { OAuthTokens } from './oauth-tokens.ts';
import { majorUnits } from './payment-request.ts';
import { parseRefundRequest } from './refund-request.ts';
import { refundView } from './refund-view.ts';

export interface CarrierBillingRefundDeps {
  store: Store;
  authorizations: AuthorizationService;
  tokens: OAuthTokens;
  idempotency: IdempotencyKeys;
  sinkLoopbackHttp: boolean;
}

const notFound = (): CamaraError => new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' });

/** The core's refusals of a refund, as the refund document names them. */
function refusedAs(e: unknown): CamaraErrorInfo | null {
  if (!(e instanceof SidebandError)) return camaraErrorOf(e);
  if (e.code === 'REFUND_EXCEEDS_CAPTURED') return { status: 422, code: 'CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT', message: `Unauthorized amount requested: ${e.message}` };
  if (e.code === 'AUTHORIZATION_STATE_INVALID') return { status: 422, code: 'CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS', message: 'Payment is not yet completed: nothing of it is captured to refund.' };
  return camaraErrorOf(e);
}

/**
 * CAMARA Carrier Billing Refund v0.3 (docs/camara.md) on the core /v1 refunds use: a
 * refund is `AuthorizationLifecycle.refund` — the same conditional UPDATE (two refunds
 * together never exceed what was captured), ledger reversal, limits given back and
 * acquirer outbox — and the CAMARA-only facts (type, correlator, reference, reason, sink)
 * are written in its transaction (camara_refunds), its id the refund event's.
 */
export function carrierBillingRefundRoutes(deps: CarrierBillingRefundDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    camaraHooks(app, deps.tokens);

    /** The merchant's own CAMARA payment, or not found: another merchant's payment is not revealed to exist. */
    const payment = async (merchantId: string, id: string) => {
      const p = await deps.store.db.selectFrom('camara_payments').select('authorization_id').where('authorization_id', '=', id).where('merchant_id', '=', merchantId).executeTakeFirst();
      if (!p) throw notFound();
      return deps.authorizations.lifecycle.get(merchantId, id);
    };
    const refund = async (paymentId: string, refundId: string): Promise<CamaraRefundTable> => {
      const r = await deps.store.db.selectFrom('camara_refunds').selectAll().where('refund_id', '=', refundId).where('authorization_id', '=', paymentId).executeTakeFirst();
      if (!r) throw notFound();
      return r;
    };

    /** createRefund, under `camara-refund:clientCorrelator` as its idempotency key. */
    app.post('/payments/:paymentId/refunds', async (request: Camara, reply: FastifyReply) => {
      const merchant = merchantOf(request, 'carrier-billing-refund:refunds:create');
      const paymentId = pathId(request, 'paymentId');
      const req = parseRefundRequest(parseJsonBody(request.rawBody), { sinkLoopbackHttp: deps.sinkLoopbackHttp });
      const created = (r: CamaraRefundTable, currency: string) => reply.status(201).header('location', `${CARRIER_BILLING_REFUND_BASE}/payments/${paymentId}/refunds/${r.refund_id}`).send(refundView(r, currency));
      let claim: IdempotencyClaim | null = null;
      if (req.clientCorrelator !== null) {
        const started = await deps.idempotency.begin(merchant.id, `camara-refund:${req.clientCorrelator}`, IdempotencyKeys.hash(request.method, request.url, request.rawBody!));
        if (started.kind === 'replay') {
          if (started.status !== 201) return reply.status(started.status).type('application/json').send(started.body);
          const row = await payment(merchant.id, paymentId);
          return created(await refund(paymentId, (JSON.parse(started.body) as { id: string }).id), row.currency);
        }
        // A refund commits its answer with itself (never `resume`): a key left by a crash runs afresh.
        claim = started.claim;
      }
      try {
        const row = await payment(merchant.id, paymentId);
        if (req.amount && req.amount.currency !== row.currency) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: `The refund's currency must be the payment's (${row.currency}).` });
        let record: CamaraRefundTable | null = null;
        await deps.authorizations.lifecycle.refund(merchant.id, paymentId, req.amount?.minor, req.reason, claim, Date.now(), async (tx: Tx, _row, movement) => {
          record = {
            refund_id: movement.id, authorization_id: paymentId, merchant_id: merchant.id, type: req.type, status: 'succeeded', amount: movement.amount, client_correlator: req.clientCorrelator,
            reference_code: req.referenceCode, reason: req.reason, description: req.amount?.description ?? null,
            sink: req.sink?.url ?? null, sink_token: req.sink?.token ?? null, sink_token_expires_at: req.sink?.expiresAt ?? null, created_at: Date.parse(movement.createdAt),
          };
          await tx.insertInto('camara_refunds').values(record).execute();
          await notifyRefundSink(tx, record);
        });
        return created(record!, row.currency);
      } catch (e) {
        const info = refusedAs(e);
        if (claim) {
          // A refusal is the key's answer (nothing was written); a fault gives the key back.
          if (info && info.status < 500 && info.code !== 'ALREADY_EXISTS') await deps.idempotency.record(claim, info.status, JSON.stringify(info));
          else await deps.idempotency.abandon(claim).catch((err: unknown) => request.log.error({ err }, 'giving back an idempotency key failed'));
        }
        throw info && info.status < 500 ? new CamaraError(info) : e;
      }
    });

    /** retrieveRefunds: this merchant's refunds of one of its payments, paged by the database. */
    app.get('/payments/:paymentId/refunds', async (request: Camara, reply) => {
      const merchant = merchantOf(request, 'carrier-billing-refund:refunds:read');
      const row = await payment(merchant.id, pathId(request, 'paymentId'));
      const q = listQuery(request, { date: 'refundCreationDate', status: 'refundStatus', known: ['processing', 'denied', 'succeeded'] as const, dateRangeCode: 'CARRIER_BILLING_REFUND.INVALID_DATE_RANGE' });
      let query = deps.store.db.selectFrom('camara_refunds').where('authorization_id', '=', row.id).where('merchant_id', '=', merchant.id);
      if (q.gte !== undefined) query = query.where('created_at', '>=', q.gte);
      if (q.lte !== undefined) query = query.where('created_at', '<=', q.lte);
      if (q.statuses.length > 0) query = query.where('status', 'in', q.statuses);
      const { total } = await query.select((eb) => eb.fn.countAll<number | string | bigint>().as('total')).executeTakeFirstOrThrow();
      const rows = await query.selectAll().orderBy('created_at', q.order).orderBy('refund_id', q.order).limit(q.perPage).offset((q.page - 1) * q.perPage).execute();
      reply.header('x-total-count', String(Number(total)));
      if (rows.length > 0) reply.header('content-last-key', String((q.page - 1) * q.perPage + rows.length));
      return rows.map((r) => refundView(r, row.currency));
    });

    /**
     * retrievePaymentRemainingAmount: captured and not yet refunded. A refund is settled in
     * the ledger when created, so none is ever `processing` and the document's cases reduce
     * to this. A refund made through /v1 counts too: it is the same money.
     */
    app.get('/payments/:paymentId/refunds/remaining-amount', async (request: Camara) => {
      const merchant = merchantOf(request, 'carrier-billing-refund:refunds:read');
      const row = await payment(merchant.id, pathId(request, 'paymentId'));
      return { amount: majorUnits(row.captured_amount - row.refunded_amount, row.currency), currency: row.currency };
    });

    app.get('/payments/:paymentId/refunds/:refundId', async (request: Camara) => {
      const merchant = merchantOf(request, 'carrier-billing-refund:refunds:read');
      const row = await payment(merchant.id, pathId(request, 'paymentId'));
      return refundView(await refund(row.id, pathId(request, 'refundId')), row.currency);
    });
  };
}
