import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canonicalAddress } from '../../core/network/cidr.ts';
import { parseRfc3339 } from '../../core/time/rfc3339.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { resolveHolder } from '../../aaa/service/resolution-routes.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { Store, Tx } from '../../store/open-store.ts';
import type { CamaraPaymentTable } from '../../store/schema.ts';
import type { AuthorizationRow } from '../authorization/authorization-record.ts';
import type { AuthorizationService } from '../authorization/authorization-service.ts';
import { IdempotencyKeys, type IdempotencyClaim } from '../api/idempotency.ts';
import type { TargetUriResolver } from '../api/target-uri-resolver.ts';
import { CamaraError, camaraErrorOf, declinedAs } from './camara-error.ts';
import type { CamaraScope, OAuthTokens, TokenMerchant } from './oauth-tokens.ts';
import { parsePaymentRequest, type PaymentRequest } from './payment-request.ts';
import { paymentStatus, paymentView, type PaymentStatus } from './payment-view.ts';
import { parseJsonBody } from '../api/json-body.ts';

/** CAMARA_common.yaml XCorrelator. */
const X_CORRELATOR = /^[a-zA-Z0-9-_:;./<>{}]{0,256}$/;
const OBJECT_ID = /^[A-Za-z0-9_]{1,64}$/;
export const CARRIER_BILLING_BASE = '/carrier-billing/v0.5';

type Camara = FastifyRequest & { token?: TokenMerchant; rawBody?: Buffer };

export interface CarrierBillingDeps {
  store: Store;
  sessions: SessionService;
  authorizations: AuthorizationService;
  tokens: OAuthTokens;
  idempotency: IdempotencyKeys;
  targetUri: TargetUriResolver;
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
 * CAMARA Carrier Billing v0.5 (docs/camara.md), on the core /v1 uses: a payment is an
 * authorization — automatic capture for one-step, manual for two-step — decided by
 * AuthorizationService with the same presence, destination, limits, ledger and settlement,
 * and the CAMARA-only facts (flow, correlator, reference, phone number) are written in
 * the authorization's own transaction (camara_payments).
 */
export function carrierBillingRoutes(deps: CarrierBillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', async (request, reply) => {
      const correlator = request.headers['x-correlator'];
      if (typeof correlator === 'string') {
        if (!X_CORRELATOR.test(correlator)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'x-correlator must match ^[a-zA-Z0-9-_:;./<>{}]{0,256}$.' });
        reply.header('x-correlator', correlator);
      }
    });
    app.addHook('preHandler', async (request: Camara) => {
      request.rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      request.token = await deps.tokens.authenticate(request.headers.authorization);
    });
    app.setErrorHandler((error, request, reply) => {
      const info = camaraErrorOf(error);
      if (info) return reply.status(info.status).send(info);
      const e = error as { code?: string; statusCode?: number; message: string };
      if (e.statusCode && e.statusCode < 500) return reply.status(400).send({ status: 400, code: 'INVALID_ARGUMENT', message: e.message });
      request.log.error({ err: error }, 'CAMARA request failed');
      return reply.status(500).send({ status: 500, code: 'INTERNAL', message: `Internal error; correlation id ${request.id}.` });
    });
    app.setNotFoundHandler((request, reply) => reply.status(404).send({ status: 404, code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}.` }));

    const merchantOf = (r: Camara, scope: CamaraScope) => {
      if (!r.token!.scopes.has(scope)) throw new SidebandError('ACCESS_TOKEN_SCOPE_MISSING', `This operation needs the scope ${scope}.`);
      return r.token!.merchant;
    };
    const idOf = (r: Camara) => {
      const id = (r.params as { paymentId: string }).paymentId;
      if (!OBJECT_ID.test(id)) throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'No payment has that id.' });
      return id;
    };

    const load = async (merchantId: string, id: string): Promise<{ row: AuthorizationRow; payment: CamaraPaymentTable }> => {
      const payment = await deps.store.db.selectFrom('camara_payments').selectAll().where('authorization_id', '=', id).where('merchant_id', '=', merchantId).executeTakeFirst();
      if (!payment) throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' });
      return { row: await deps.authorizations.lifecycle.get(merchantId, id), payment };
    };

    /**
     * Who pays, before anything is written: a phone number must name a registered
     * subscriber, and the subscriber an address names must have a phone number (CAMARA's
     * payment carries one). With the phone number alone, the customer must be online:
     * the address their open session holds now is what the core checks.
     */
    const identify = async (req: PaymentRequest, now: number): Promise<{ address: string; port?: number | undefined; phoneNumber: string }> => {
      const { phoneNumber, address } = req.identifier;
      if (address) {
        let holder;
        try {
          holder = await resolveHolder(deps.sessions, deps.store, { address: canonicalAddress(address.address, 'device'), port: address.port, at: now });
        } catch (e) {
          if (e instanceof SidebandError && e.code === 'RESOLVE_NOT_FOUND') throw new SidebandError('CUSTOMER_NOT_FOUND', 'Nobody holds that address now.', { param: 'device' });
          throw e;
        }
        const sub = holder.subscriber.id ? await deps.store.db.selectFrom('subscribers').select('phone_number').where('id', '=', holder.subscriber.id).executeTakeFirst() : undefined;
        if (!sub) throw new SidebandError('CUSTOMER_NOT_FOUND', 'The address is held by a session of no known subscriber.', { param: 'device' });
        if (phoneNumber !== null && sub.phone_number !== phoneNumber) throw new SidebandError('CAMARA_IDENTIFIER_NOT_FOUND', 'The phone number is not that of whoever holds the address.', { param: 'amountTransaction.phoneNumber' });
        if (sub.phone_number === null) throw new SidebandError('CAMARA_SERVICE_NOT_APPLICABLE', 'The customer has no phone number registered, which a CAMARA payment carries; use /v1.', { param: 'device' });
        return { address: holder.address, port: address.port, phoneNumber: sub.phone_number };
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
      return { address: held.address, port: held.port_first ?? undefined, phoneNumber: phoneNumber! };
    };

    /** createPayment and preparePayment: one authorization, under `camara:clientCorrelator` as its idempotency key. */
    const create = async (request: Camara, reply: FastifyReply, flow: CamaraPaymentTable['flow']) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:create');
      const req = parsePaymentRequest(parseJsonBody(request.rawBody));
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
        const who = await identify(req, now);
        const row = await deps.authorizations.create(merchant, {
          customer: { address: who.address, port: who.port, observedAt: now },
          amount: req.amount, currency: req.currency, description: req.description, merchantReference: req.referenceCode,
          capture: flow === 'one-step' ? 'automatic' : 'manual',
          recordWith: async (tx: Tx, r) => {
            payment = { authorization_id: r.id, merchant_id: merchant.id, flow, client_correlator: req.clientCorrelator, reference_code: req.referenceCode, phone_number: who.phoneNumber, sink: null, created_at: r.created_at };
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
      const { row, payment } = await load(merchantOf(request, 'carrier-billing:payments:read').id, idOf(request));
      return paymentView(row, payment);
    });

    app.get('/payments', async (request: Camara, reply) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:read');
      const q = request.query as Record<string, string | string[] | undefined>;
      const one = (name: string): string | undefined => {
        const v = q[name];
        if (Array.isArray(v)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: `${name} may be given once.` });
        return v;
      };
      const int = (name: string, fallback: number, max: number) => {
        const v = one(name);
        const n = v === undefined ? fallback : Number(v);
        if (!Number.isInteger(n) || n < 1 || n > max) throw new CamaraError({ status: 400, code: 'OUT_OF_RANGE', message: `${name} must be 1 to ${max}.` });
        return n;
      };
      const time = (name: string) => {
        const v = one(name);
        if (v === undefined) return undefined;
        const t = parseRfc3339(v);
        if (t === undefined) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: `${name} must be an RFC 3339 time with a zone.` });
        return t;
      };
      const page = int('page', 1, 1_000_000);
      const perPage = int('perPage', 10, 100);
      const gte = time('paymentCreationDate.gte');
      const lte = time('paymentCreationDate.lte') ?? (gte !== undefined ? Date.now() : undefined);
      if (gte !== undefined && lte !== undefined && gte > lte) throw new CamaraError({ status: 400, code: 'CARRIER_BILLING.INVALID_DATE_RANGE', message: 'Client specified an invalid date range.' });
      const order = one('order') ?? 'desc';
      if (order !== 'asc' && order !== 'desc') throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'order must be asc or desc.' });
      if (q.merchantIdentifier !== undefined) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'merchantIdentifier is not kept by this gateway; leave it out.' });
      const raw = q.paymentStatus;
      const statuses = (raw === undefined ? [] : Array.isArray(raw) ? raw : raw.split(',')) as PaymentStatus[];
      const known: PaymentStatus[] = ['processing', 'pending_validation', 'denied', 'reserved', 'succeeded', 'cancelled'];
      for (const s of statuses) if (!known.includes(s)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: `paymentStatus must be among ${known.join(', ')}.` });
      let query = deps.store.db.selectFrom('camara_payments as p').innerJoin('authorizations as a', 'a.id', 'p.authorization_id').where('p.merchant_id', '=', merchant.id);
      if (gte !== undefined) query = query.where('p.created_at', '>=', gte);
      if (lte !== undefined) query = query.where('p.created_at', '<=', lte);
      const rows = await query.selectAll('a').select(['p.flow', 'p.client_correlator', 'p.reference_code', 'p.phone_number', 'p.sink', 'p.authorization_id', 'p.merchant_id as payment_merchant', 'p.created_at as payment_created']).orderBy('p.created_at', order).orderBy('p.authorization_id', order).execute();
      // The status is derived (payment-view.ts), so it is filtered after reading; a merchant's CAMARA payments are few per page of dates.
      const views = rows
        .map((r) => ({ r, payment: { authorization_id: r.authorization_id, merchant_id: r.payment_merchant, flow: r.flow, client_correlator: r.client_correlator, reference_code: r.reference_code, phone_number: r.phone_number, sink: r.sink, created_at: r.payment_created } }))
        .filter(({ r, payment }) => statuses.length === 0 || statuses.includes(paymentStatus(r, payment.flow)));
      const slice = views.slice((page - 1) * perPage, page * perPage);
      reply.header('x-total-count', String(views.length));
      if (slice.length > 0) reply.header('content-last-key', String((page - 1) * perPage + slice.length));
      return slice.map(({ r, payment }) => paymentView(r, payment));
    });

    /** confirmPayment / cancelPayment: the optional phoneNumber must be the payment's. */
    const secondStep = async (request: Camara) => {
      const merchant = merchantOf(request, 'carrier-billing:payments:write');
      const body = parseJsonBody(request.rawBody);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'The body is a JSON object, {} or { "phoneNumber" }.' });
      const { row, payment } = await load(merchant.id, idOf(request));
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
      await load(merchant.id, idOf(request));
      throw new CamaraError({ status: 400, code: 'CARRIER_BILLING.INVALID_AUTHORIZATION_ID', message: 'Invalid authorizationId: this provider issues no validationInfo; a payment awaiting its subscriber is processing until they answer.' });
    });
  };
}
