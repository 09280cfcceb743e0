import type { ExpressionBuilder } from 'kysely';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { canonicalAddress } from '../../core/network/cidr.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { resolveHolder } from '../../aaa/service/resolution-routes.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { CamaraPaymentTable, Database } from '../../store/schema.ts';
import type { AuthorizationRow } from '../authorization/authorization-record.ts';
import type { AuthorizationService } from '../authorization/authorization-service.ts';
import { IdempotencyKeys, type IdempotencyClaim } from '../api/idempotency.ts';
import type { TargetUriResolver } from '../api/target-uri-resolver.ts';
import { CamaraConsents } from './camara-consents.ts';
import { CamaraError, camaraErrorOf, declinedAs } from './camara-error.ts';
import { camaraHooks, listQuery, merchantOf, pathId, type CamaraRequest as Camara } from './camara-http.ts';
import { CARRIER_BILLING_BASE } from './camara-notifications.ts';
import type { OAuthTokens } from './oauth-tokens.ts';
import { parsePaymentRequest, type PaymentRequest } from './payment-request.ts';
import { paymentStatus, paymentView, type PaymentStatus } from './payment-view.ts';
import { parseJsonBody } from '../api/json-body.ts';

export interface CarrierBillingDeps {
  store: Store;
  sessions: SessionService;
  authorizations: AuthorizationService;
  tokens: OAuthTokens;
  idempotency: IdempotencyKeys;
  targetUri: TargetUriResolver;
  /** merchantApi.camaraSinkLoopbackHttp: a development gateway takes http sinks on loopback. */
  sinkLoopbackHttp: boolean;
}

/**
 * The token endpoint (RFC 6749 §4.4 with RFC 7523 client authentication). Its answers
 * are OAuth's own: `{ access_token, token_type, expires_in, scope }`, or §5.2's
 * `{ error, error_description }`, never cached (§5.1).
 */
export function oauthTokenRoute(app: FastifyInstance, deps: Pick<CarrierBillingDeps, 'tokens' | 'targetUri'>): void {
  app.post('/oauth2/token', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    try {
      const raw = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
      const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded') throw new SidebandError('OAUTH_REQUEST_INVALID', 'The token request is application/x-www-form-urlencoded (RFC 6749 §4.4.2).');
      const endpoint = deps.targetUri.resolve(request);
      const origin = new URL(endpoint).origin;
      return await deps.tokens.issue(new URLSearchParams(raw), [`${origin}/oauth2/token`, origin]);
    } catch (e) {
      if (!(e instanceof SidebandError)) throw e;
      const error = e.code === 'OAUTH_REQUEST_INVALID' ? (e.param === 'grant_type' ? 'unsupported_grant_type' : e.param === 'scope' ? 'invalid_scope' : 'invalid_request') : e.status === 401 || e.status === 403 ? 'invalid_client' : 'invalid_request';
      return reply.status(error === 'invalid_client' ? 401 : 400).send({ error, error_description: `${e.code}: ${e.message}` });
    }
  });
}

/**
 * A payment's CAMARA status (payment-view.ts's `paymentStatus`) computed by the database,
 * so that the list filters and pages in SQL.
 */
function statusInSql(eb: ExpressionBuilder<Database & { a: Database['authorizations']; p: Database['camara_payments'] }, 'a' | 'p'>) {
  return eb.case()
    .when('a.status', 'in', ['pending', 'processing']).then('processing')
    .when(eb.and([eb('a.status', '=', 'approved'), eb('p.flow', '=', 'two-step')])).then('reserved')
    .when('a.status', '=', 'approved').then('processing')
    .when('a.status', 'in', ['captured', 'refunded']).then('succeeded')
    .when(eb.and([eb('a.status', 'in', ['voided', 'expired']), eb('a.captured_amount', '>', 0)])).then('succeeded')
    .when('a.status', 'in', ['voided', 'expired']).then('cancelled')
    .else('denied')
    .end();
}

/**
 * CAMARA Carrier Billing v0.5 (docs/camara.md), on the core /v1 uses: a payment is an
 * authorization — automatic capture for one-step, manual for two-step — decided by
 * AuthorizationService with the same presence, destination, limits, ledger and settlement,
 * and the CAMARA-only facts (flow, correlator, reference, phone number and why the
 * merchant may see it, sink) are written in the authorization's own transaction
 * (camara_payments).
 */
export function carrierBillingRoutes(deps: CarrierBillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    camaraHooks(app, deps.tokens);

    /**
     * A payment of this merchant whose phone number it may see: it sent the number, or the
     * subscriber consented when it was made. One made before consent was asked (basis
     * null) is shown only while the subscriber consents; otherwise it is not found.
     */
    const load = async (merchantId: string, id: string): Promise<{ row: AuthorizationRow; payment: CamaraPaymentTable }> => {
      const payment = await deps.store.db.selectFrom('camara_payments').selectAll().where('authorization_id', '=', id).where('merchant_id', '=', merchantId).executeTakeFirst();
      if (!payment) throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' });
      const row = await deps.authorizations.lifecycle.get(merchantId, id);
      if (payment.phone_basis === null && !(await CamaraConsents.given(deps.store.db, row.subscriber_id, merchantId))) throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' });
      return { row, payment };
    };

    /**
     * Who pays, before anything is written: a phone number must name a registered
     * subscriber. An address alone must name one who consented that this merchant learn
     * their number (CAMARA's payment carries it; /v1 never reveals it), and who has one.
     * With the phone number alone, the customer must be online: the address their open
     * session holds now is what the core checks.
     */
    const identify = async (merchantId: string, req: PaymentRequest, now: number): Promise<{ address: string; port?: number | undefined; phoneNumber: string; basis: 'merchant' | 'consent' }> => {
      const { phoneNumber, address } = req.identifier;
      if (address) {
        let holder;
        try {
          holder = await resolveHolder(deps.sessions, deps.store, { address: canonicalAddress(address.address, 'device'), port: address.port, at: now });
        } catch (e) {
          if (e instanceof SidebandError && e.code === 'RESOLVE_NOT_FOUND') throw new SidebandError('CUSTOMER_NOT_FOUND', 'Nobody holds that address now.', { param: 'device' });
          throw e;
        }
        const sub = holder.subscriber.id ? await deps.store.db.selectFrom('subscribers').select(['id', 'phone_number']).where('id', '=', holder.subscriber.id).executeTakeFirst() : undefined;
        if (!sub) throw new SidebandError('CUSTOMER_NOT_FOUND', 'The address is held by a session of no known subscriber.', { param: 'device' });
        if (phoneNumber !== null) {
          if (sub.phone_number !== phoneNumber) throw new SidebandError('CAMARA_IDENTIFIER_NOT_FOUND', 'The phone number is not that of whoever holds the address.', { param: 'amountTransaction.phoneNumber' });
          // The merchant sent the number: it tells the merchant nothing it did not know.
          return { address: holder.address, port: address.port, phoneNumber, basis: 'merchant' };
        }
        if (!(await CamaraConsents.given(deps.store.db, sub.id, merchantId))) throw new SidebandError('CAMARA_CONSENT_MISSING', 'The customer has not allowed this merchant to learn their phone number, which a CAMARA payment carries: send amountTransaction.phoneNumber, or use /v1.', { param: 'device' });
        if (sub.phone_number === null) throw new SidebandError('CAMARA_SERVICE_NOT_APPLICABLE', 'The customer has no phone number registered, which a CAMARA payment carries; use /v1.', { param: 'device' });
        return { address: holder.address, port: address.port, phoneNumber: sub.phone_number, basis: 'consent' };
      }
      const sub = await deps.store.db.selectFrom('subscribers').select('id').where('phone_number', '=', phoneNumber!).executeTakeFirst();
      if (!sub) throw new SidebandError('CAMARA_IDENTIFIER_NOT_FOUND', 'phoneNumber not found.', { param: 'amountTransaction.phoneNumber' });
      const held = await deps.store.db
        .selectFrom('bindings as b')
        .innerJoin('sessions as s', 's.id', 'b.session_id')
        .select(['b.address', 'b.port_first'])
        .where('s.subscriber_id', '=', sub.id)
        .where('s.status', '!=', 'closed')
        .where('b.end_at', 'is', null)
        .orderBy('b.start_at', 'desc')
        .executeTakeFirst();
      if (!held) throw new SidebandError('CAMARA_SERVICE_NOT_APPLICABLE', 'The customer is not online: a payment by phone number needs an open session.', { param: 'amountTransaction.phoneNumber' });
      return { address: held.address, port: held.port_first ?? undefined, phoneNumber: phoneNumber!, basis: 'merchant' };
    };

    /** createPayment and preparePayment: one authorization, under `camara:clientCorrelator` as its idempotency key. */
    const create = async (request: Camara, reply: FastifyReply, flow: CamaraPaymentTable['flow']) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:create');
      const req = parsePaymentRequest(parseJsonBody(request.rawBody), { sinkLoopbackHttp: deps.sinkLoopbackHttp });
      const now = Date.now();
      const answer = (row: AuthorizationRow, payment: CamaraPaymentTable) => {
        if (row.status === 'declined') throw new CamaraError(declinedAs(row.reason));
        return reply.status(201).header('location', `${CARRIER_BILLING_BASE}/payments/${row.id}`).send(paymentView(row, payment));
      };
      let claim: IdempotencyClaim | null = null;
      if (req.clientCorrelator !== null) {
        const started = await deps.idempotency.begin(merchant.id, `camara:${req.clientCorrelator}`, IdempotencyKeys.hash(request.method, request.url, request.rawBody!));
        if (started.kind === 'replay') {
          // The core stored its /v1 answer; a CAMARA client gets the same payment in its own shape.
          if (started.status !== 201) return reply.status(started.status).type('application/json').send(started.body);
          const { row, payment } = await load(merchant.id, (JSON.parse(started.body) as { id: string }).id);
          return answer(row, payment);
        }
        claim = started.claim;
        if (started.kind === 'resume') {
          const row = await deps.authorizations.resume(merchant.id, started.claim.resourceId, started.claim);
          return answer(row, (await load(merchant.id, row.id)).payment);
        }
      }
      let payment: CamaraPaymentTable | null = null;
      try {
        const who = await identify(merchant.id, req, now);
        const row = await deps.authorizations.create(merchant, {
          customer: { address: who.address, port: who.port, observedAt: now },
          amount: req.amount, currency: req.currency, description: req.description, merchantReference: req.referenceCode,
          capture: flow === 'one-step' ? 'automatic' : 'manual',
          recordWith: async (tx: Tx, r) => {
            payment = {
              authorization_id: r.id, merchant_id: merchant.id, flow, client_correlator: req.clientCorrelator, reference_code: req.referenceCode, phone_number: who.phoneNumber, phone_basis: who.basis,
              sink: req.sink?.url ?? null, sink_token: req.sink?.token ?? null, sink_token_expires_at: req.sink?.expiresAt ?? null, created_at: r.created_at,
            };
            await tx.insertInto('camara_payments').values(payment).execute();
          },
        }, claim, now);
        return answer(row, payment!);
      } catch (e) {
        const info = camaraErrorOf(e);
        if (claim && info && info.status < 500 && info.code !== 'ALREADY_EXISTS') {
          // A refusal before any write is the key's answer; one after (a decline) was stored by the core.
          if (!(e instanceof CamaraError)) await deps.idempotency.record(claim, info.status, JSON.stringify(info));
        } else if (claim) {
          await deps.idempotency.abandon(claim).catch((err: unknown) => request.log.error({ err }, 'giving back an idempotency key failed'));
        }
        throw e;
      }
    };

    app.post('/payments', async (request: Camara, reply) => create(request, reply, 'one-step'));
    app.post('/payments/prepare', async (request: Camara, reply) => create(request, reply, 'two-step'));

    app.get('/payments/:paymentId', async (request: Camara) => {
      const { row, payment } = await load(merchantOf(request, 'carrier-billing:payments:read').id, pathId(request, 'paymentId'));
      return paymentView(row, payment);
    });

    /** retrievePayments: filtered, counted and paged by the database (the status is derived in SQL). */
    app.get('/payments', async (request: Camara, reply) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:read');
      const known: PaymentStatus[] = ['processing', 'pending_validation', 'denied', 'reserved', 'succeeded', 'cancelled'];
      const q = listQuery(request, { date: 'paymentCreationDate', status: 'paymentStatus', known, dateRangeCode: 'CARRIER_BILLING.INVALID_DATE_RANGE' });
      let query = deps.store.db
        .selectFrom('camara_payments as p')
        .innerJoin('authorizations as a', 'a.id', 'p.authorization_id')
        .where('p.merchant_id', '=', merchant.id)
        // What load() refuses is not listed either: a number the merchant may not see.
        .where((eb) => eb.or([eb('p.phone_basis', 'is not', null), eb.exists(eb.selectFrom('camara_consents as c').select('c.given_at').whereRef('c.subscriber_id', '=', 'a.subscriber_id').whereRef('c.merchant_id', '=', 'p.merchant_id'))]));
      if (q.gte !== undefined) query = query.where('p.created_at', '>=', q.gte);
      if (q.lte !== undefined) query = query.where('p.created_at', '<=', q.lte);
      if (q.statuses.length > 0) query = query.where((eb) => eb(statusInSql(eb), 'in', q.statuses));
      const { total } = await query.select((eb) => eb.fn.countAll<number | string | bigint>().as('total')).executeTakeFirstOrThrow();
      const rows = await query.selectAll('p').select(['a.id', 'a.status', 'a.amount', 'a.currency', 'a.description', 'a.captured_amount', 'a.created_at as authorized_at']).orderBy('p.created_at', q.order).orderBy('p.authorization_id', q.order).limit(q.perPage).offset((q.page - 1) * q.perPage).execute();
      reply.header('x-total-count', String(Number(total)));
      if (rows.length > 0) reply.header('content-last-key', String((q.page - 1) * q.perPage + rows.length));
      return rows.map(({ id, status, amount, currency, description, captured_amount, authorized_at, ...payment }) => paymentView({ id, status, amount, currency, description, captured_amount, created_at: authorized_at }, payment));
    });

    /** confirmPayment / cancelPayment: the optional phoneNumber must be the payment's. */
    const secondStep = async (request: Camara) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:write');
      const body = parseJsonBody(request.rawBody);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'The body is a JSON object, {} or { "phoneNumber" }.' });
      const { row, payment } = await load(merchant.id, pathId(request, 'paymentId'));
      const phoneNumber = (body as { phoneNumber?: unknown }).phoneNumber;
      if (phoneNumber !== undefined && phoneNumber !== payment.phone_number) throw new CamaraError({ status: 404, code: 'IDENTIFIER_NOT_FOUND', message: 'phoneNumber is not the payment\'s.' });
      if (payment.flow !== 'two-step') throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The payment is a one-step payment; only a prepared payment is confirmed or cancelled.' });
      const status = paymentStatus(row, payment.flow);
      if (status === 'succeeded') throw new CamaraError({ status: 409, code: 'CARRIER_BILLING.PAYMENT_CONFIRMED', message: 'Payment has been confirmed.' });
      if (status === 'cancelled') throw new CamaraError({ status: 409, code: 'CARRIER_BILLING.PAYMENT_CANCELLED', message: 'Payment has been cancelled.' });
      if (status === 'denied') throw new CamaraError({ status: 403, code: 'CARRIER_BILLING.PAYMENT_DENIED', message: 'Payment denied by business.' });
      return { merchant, row };
    };

    app.post('/payments/:paymentId/confirm', async (request: Camara, reply) => {
      const { merchant, row } = await secondStep(request);
      if (row.status !== 'approved') throw new CamaraError({ status: 403, code: 'PERMISSION_DENIED', message: 'The payment is not reserved yet: it waits for the subscriber or the acquirer.' });
      await deps.authorizations.lifecycle.capture(merchant.id, row.id, undefined);
      return reply.status(202).send();
    });

    app.post('/payments/:paymentId/cancel', async (request: Camara, reply) => {
      const { merchant, row } = await secondStep(request);
      await deps.authorizations.lifecycle.void(merchant.id, row.id);
      return reply.status(202).send();
    });

    // Sideband sends no validationInfo (no OTP of its own: the subscriber confirms in the
    // portal, which shows as `processing`), so there is never an authorizationId to validate.
    app.post('/payments/:paymentId/validate', async (request: Camara) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:write');
      await load(merchant.id, pathId(request, 'paymentId'));
      throw new CamaraError({ status: 400, code: 'CARRIER_BILLING.INVALID_AUTHORIZATION_ID', message: 'Invalid authorizationId: this provider issues no validationInfo; a payment awaiting its subscriber is processing until they answer.' });
    });
  };
}
