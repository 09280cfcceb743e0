import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import { parseRfc3339 } from '../../core/time/rfc3339.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Config } from '../../config/schema.ts';
import { httpLimits } from '../../gateway/http-limits.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AuthorizationService } from '../authorization/authorization-service.ts';
import { merchantView } from '../authorization/authorization-record.ts';
import { authorizationStatuses } from './contract/merchant-api-schemas.ts';
import type { WebhookSigner } from '../webhooks/webhook-signer.ts';
import { parseCreateAuthorization, parseMovement } from './authorization-request.ts';
import { IdempotencyKeys, type IdempotencyClaim } from './idempotency.ts';
import type { ProviderChannel } from '../../channel/service/provider-channel.ts';
import { parseExchangeRequest } from './channel-request.ts';
import { openApiDocument } from './openapi.ts';
import type { AuthenticatedMerchant, RequestAuthentication } from './request-authentication.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { Store } from '../../store/open-store.ts';
import { storeContended } from '../../store/failure-kind.ts';
import { carrierBillingRoutes, oauthTokenRoute } from '../camara/carrier-billing-routes.ts';
import { CARRIER_BILLING_BASE, CARRIER_BILLING_REFUND_BASE } from '../camara/camara-notifications.ts';
import { carrierBillingRefundRoutes } from '../camara/refund-routes.ts';
import type { OAuthTokens } from '../camara/oauth-tokens.ts';
import { parseJsonBody } from './json-body.ts';

const BODY_LIMIT = 16 * 1024;
const OBJECT_ID = /^[A-Za-z0-9_]{1,64}$/;
/** Exchange ids may be the merchant's own: `exc_` and 16 to 64 letters, digits, _ or - (base64url). */
const EXCHANGE_ID = /^[A-Za-z0-9_-]{1,80}$/;

type Authed = FastifyRequest & { merchant?: AuthenticatedMerchant; rawBody?: Buffer };

/**
 * The certification server's HTTP API for merchants (docs/merchant-api.md). Bodies are
 * kept as bytes until the signature and its content-digest are verified, then parsed.
 */
export function buildMerchantApi(deps: { http: Config['http']; auth: RequestAuthentication; authorizations: AuthorizationService; signer: WebhookSigner; idempotency: IdempotencyKeys; logger: Logger; metrics: Metrics; channel?: () => ProviderChannel | null; camara?: { store: Store; sessions: SessionService; tokens: OAuthTokens; sinkLoopbackHttp: boolean } }): FastifyInstance {
  // Per-request logs at warn: at thousands of authorizations a second, info lines would be most of the work.
  const app = Fastify({ loggerInstance: deps.logger.child({}, { level: 'warn' }) as FastifyBaseLogger, ...httpLimits(deps.http, BODY_LIMIT) });
  const requests = deps.metrics.counter('sideband_merchant_requests_total', 'Merchant API requests, by route and status', ['route', 'status']);
  const latency = deps.metrics.histogram('sideband_merchant_request_seconds', 'Merchant API latency', ['route'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof SidebandError) {
      // Worth retrying soon: the same key will be replayed or resumed (RFC 9110 §10.2.3).
      if (error.code === 'IDEMPOTENCY_KEY_IN_PROGRESS' || error.code === 'ACQUIRER_UNAVAILABLE') reply.header('retry-after', String(error.retryAfterSeconds ?? 1));
      return reply.status(error.status).send(error.toBody());
    }
    const e = error as { code?: string; statusCode?: number; message: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(new SidebandError('BODY_TOO_LARGE', `The body is larger than ${BODY_LIMIT} bytes.`).toBody());
    if (e.statusCode && e.statusCode < 500) return reply.status(e.statusCode).send(new SidebandError('FIELD_INVALID', e.message).toBody());
    const contended = storeContended(error);
    if (contended) {
      request.log.warn({ err: error }, 'merchant API request waited out lock_timeout');
      return reply.status(503).header('retry-after', '1').send(contended.toBody());
    }
    request.log.error({ err: error }, 'merchant API request failed');
    return reply.status(500).send(new SidebandError('INTERNAL', `Internal error; correlation id ${request.id}.`).toBody());
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(new SidebandError('NOT_FOUND', `No route ${request.method} ${request.url}.`).toBody()));

  app.get('/v1/openapi.json', async () => openApiDocument);

  // CAMARA Carrier Billing (docs/camara.md): OAuth 2.0 bearer tokens instead of RFC 9421
  // signatures, CAMARA's error shape; the same merchants, keys and core.
  if (deps.camara) {
    oauthTokenRoute(app, { tokens: deps.camara.tokens, targetUri: deps.auth.targetUri });
    app.register(carrierBillingRoutes({ ...deps.camara, authorizations: deps.authorizations, idempotency: deps.idempotency, targetUri: deps.auth.targetUri }), { prefix: CARRIER_BILLING_BASE });
    app.register(carrierBillingRefundRoutes({ ...deps.camara, authorizations: deps.authorizations, idempotency: deps.idempotency }), { prefix: CARRIER_BILLING_REFUND_BASE });
  }
  app.get('/v1/webhook-keys', async () => deps.signer.jwks());

  app.register(async (signed) => {
    signed.addHook('preHandler', async (request: Authed) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      request.rawBody = raw;
      const url = deps.auth.targetUri.resolve(request);
      // A purchase records its signature's nonce in the statement that takes its key.
      const key = request.headers['idempotency-key'];
      const deferNonce = (request.routeOptions.config as { nonceWithKey?: boolean }).nonceWithKey === true && typeof key === 'string' && key.length > 0;
      request.merchant = await deps.auth.authenticate({ method: request.method, url, headers: request.headers, body: raw }, Date.now(), { deferNonce });
      request.log = request.log.child({ merchant: request.merchant.merchant.id });
    });

    const merchantOf = (r: Authed) => r.merchant!.merchant;

    /**
     * Runs what may refuse a request before its key's statement records the deferred nonce
     * (a body check, a malformed key): a refused request has spent its nonce all the same.
     */
    const spendingNonceOnRefusal = async <T>(request: Authed, work: () => T | Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (e) {
        if (request.merchant?.pendingNonce) await deps.auth.recordNonce(request.merchant.pendingNonce);
        throw e;
      }
    };

    /**
     * Runs a POST under its Idempotency-Key: required for creating an authorization,
     * optional (and sent by the SDK) for the others. The operation stores its own answer
     * in the transaction of its write (idempotency.ts); here a refusal decided before any
     * write is stored, and a fault gives the key back or, when the operation committed
     * something, leaves it for the retry to resume.
     */
    const idempotent = async (request: Authed, reply: FastifyReply, required: boolean, run: (claim: IdempotencyClaim | null) => Promise<{ status: number; body: unknown; stored?: true }>, resume?: (claim: IdempotencyClaim & { resourceId: string }) => Promise<{ status: number; body: unknown }>) => {
      const merchant = merchantOf(request);
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length === 0) {
        if (required) throw new SidebandError('IDEMPOTENCY_KEY_MISSING', 'Send an Idempotency-Key header, unique per purchase.', { param: 'Idempotency-Key' });
        const r = await run(null);
        return reply.status(r.status).send(r.body);
      }
      const started = await spendingNonceOnRefusal(request, () => deps.idempotency.begin(merchant.id, key, IdempotencyKeys.hash(request.method, request.url, request.rawBody!), Date.now(), request.merchant?.pendingNonce));
      if (started.kind === 'replay') return reply.status(started.status).header('idempotent-replayed', 'true').type('application/json').send(started.body);
      const claim = started.claim;
      try {
        const r = started.kind === 'resume' && resume ? await resume(started.claim) : await run(claim);
        // Money operations stored their answer with their write; anything else is stored now.
        if (!('stored' in r)) await deps.idempotency.record(claim, r.status, JSON.stringify(r.body));
        return reply.status(r.status).type('application/json').send(JSON.stringify(r.body));
      } catch (e) {
        let failure = e;
        if (e instanceof SidebandError && e.status < 500 && e.code !== 'IDEMPOTENCY_KEY_IN_PROGRESS') {
          try {
            await deps.idempotency.record(claim, e.status, JSON.stringify(e.toBody()));
            throw e;
          } catch (recordFailure) {
            if (recordFailure === e) throw e;
            failure = recordFailure;
          }
        }
        // A fault: the key is given back, or left for the retry to resume what committed.
        await deps.idempotency.abandon(claim).catch((err: unknown) => request.log.error({ err }, 'giving back an idempotency key failed'));
        throw failure;
      }
    };

    /** Ids are ours ([A-Za-z0-9_]); anything else names nothing (and a NUL must not reach PostgreSQL). */
    const idOf = (request: Authed, notFound: 'AUTHORIZATION_NOT_FOUND' | 'CHANNEL_EXCHANGE_NOT_FOUND' = 'AUTHORIZATION_NOT_FOUND') => {
      const id = (request.params as { id: string }).id;
      if (!(notFound === 'CHANNEL_EXCHANGE_NOT_FOUND' ? EXCHANGE_ID : OBJECT_ID).test(id)) throw new SidebandError(notFound, 'No object has that id: ids are letters, digits and underscores.', { param: 'id' });
      return id;
    };

    // Bodies are checked before the key is taken: a refused body is not the key's answer,
    // so the corrected request may use the same key.
    signed.post('/v1/authorizations', { config: { nonceWithKey: true } }, async (request: Authed, reply: FastifyReply) => {
      const input = await spendingNonceOnRefusal(request, () => parseCreateAuthorization(parseJsonBody(request.rawBody)));
      return idempotent(
        request, reply, true,
        async (claim) => {
          return { status: 201, body: merchantView(await deps.authorizations.create(merchantOf(request), input, claim)), stored: true as const };
        },
        async (claim) => ({ status: 201, body: merchantView(await deps.authorizations.resume(merchantOf(request).id, claim.resourceId, claim)), stored: true as const }),
      );
    });

    signed.get('/v1/authorizations', async (request: Authed) => {
      const q = request.query as Record<string, string | undefined>;
      const limit = q.limit === undefined ? 20 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new SidebandError('FIELD_INVALID', 'limit must be 1 to 100.', { param: 'limit' });
      const time = (name: string) => {
        const v = q[name];
        if (v === undefined) return undefined;
        // Date.parse would take `2026-02-30` (as 2 March) or a time without a zone (as local time).
        const t = parseRfc3339(v);
        if (t === undefined) throw new SidebandError('FIELD_INVALID', `${name} must be an RFC 3339 time with a zone, such as 2026-11-23T12:00:00Z.`, { param: name });
        return t;
      };
      if (q.status !== undefined && !(authorizationStatuses as readonly string[]).includes(q.status)) throw new SidebandError('FIELD_INVALID', `status must be one of ${authorizationStatuses.join(', ')}.`, { param: 'status' });
      if (q.startingAfter !== undefined && !OBJECT_ID.test(q.startingAfter)) throw new SidebandError('FIELD_INVALID', 'startingAfter must be an authorization id.', { param: 'startingAfter' });
      const list = await deps.authorizations.lifecycle.list(merchantOf(request).id, { status: q.status, createdAfter: time('createdAfter'), createdBefore: time('createdBefore'), limit, startingAfter: q.startingAfter });
      return { object: 'list', data: list.rows.map(merchantView), hasMore: list.hasMore };
    });

    signed.get('/v1/authorizations/:id', async (request: Authed) => merchantView(await deps.authorizations.lifecycle.get(merchantOf(request).id, idOf(request))));

    signed.post('/v1/authorizations/:id/captures', async (request: Authed, reply) => {
      const id = idOf(request);
      const { amount } = parseMovement(parseJsonBody(request.rawBody), false);
      return idempotent(request, reply, false, async (claim) => {
        return { status: 201, body: (await deps.authorizations.lifecycle.capture(merchantOf(request).id, id, amount, claim)).movement, stored: true as const };
      });
    });

    signed.post('/v1/authorizations/:id/void', async (request: Authed, reply) => {
      const id = idOf(request);
      return idempotent(request, reply, false, async (claim) => {
        return { status: 200, body: merchantView(await deps.authorizations.lifecycle.void(merchantOf(request).id, id, claim)), stored: true as const };
      });
    });

    signed.post('/v1/authorizations/:id/refunds', async (request: Authed, reply) => {
      const id = idOf(request);
      const { amount, reason } = parseMovement(parseJsonBody(request.rawBody), true);
      return idempotent(request, reply, false, async (claim) => {
        return { status: 201, body: (await deps.authorizations.lifecycle.refund(merchantOf(request).id, id, amount, reason, claim)).movement, stored: true as const };
      });
    });

    const channel = (): ProviderChannel => {
      const c = deps.channel?.();
      if (!c) throw new SidebandError('CHANNEL_UNAVAILABLE', 'This gateway runs no secure channel.');
      return c;
    };
    signed.get('/v1/channel', async () => channel().capabilities());
    // The nonce goes with the key's statement, the answer with the exchange's row: two commits before the call, not four.
    signed.post('/v1/channel/exchanges', { config: { nonceWithKey: true } }, async (request: Authed, reply) =>
      // The exchange stores its answer under the key in the commit that records it.
      idempotent(request, reply, false, async (claim) => ({ status: 201, body: await channel().merchantInitiated(merchantOf(request).id, parseExchangeRequest(parseJsonBody(request.rawBody)), claim), stored: true as const })));
    signed.get('/v1/channel/exchanges/:id', async (request: Authed) => channel().view(idOf(request, 'CHANNEL_EXCHANGE_NOT_FOUND'), merchantOf(request).id));

    signed.get('/v1/captures/:id', async (request: Authed) => deps.authorizations.lifecycle.movement(merchantOf(request).id, idOf(request), 'capture'));
    signed.get('/v1/refunds/:id', async (request: Authed) => deps.authorizations.lifecycle.movement(merchantOf(request).id, idOf(request), 'refund'));
  });

  return app;
}
