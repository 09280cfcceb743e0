import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AuthorizationService } from '../authorization/authorization-service.ts';
import { merchantView } from '../authorization/authorization-record.ts';
import type { WebhookSigner } from '../webhooks/webhook-signer.ts';
import { parseCreateAuthorization, parseMovement } from './authorization-request.ts';
import { IdempotencyKeys } from './idempotency.ts';
import type { ProviderChannel } from '../../channel/service/provider-channel.ts';
import { parseExchangeRequest } from './channel-request.ts';
import { openApiDocument } from './openapi.ts';
import type { AuthenticatedMerchant, RequestAuthentication } from './request-authentication.ts';

const BODY_LIMIT = 16 * 1024;

type Authed = FastifyRequest & { merchant?: AuthenticatedMerchant; rawBody?: Buffer };

function parseJson(raw: Buffer | undefined): unknown {
  if (!raw || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SidebandError('BODY_MALFORMED', 'The body is not valid JSON.');
  }
}

/**
 * The certification server's HTTP API for merchants (docs/merchant-api.md). Bodies are
 * kept as bytes until the signature and its content-digest are verified, then parsed.
 */
export function buildMerchantApi(deps: { auth: RequestAuthentication; authorizations: AuthorizationService; signer: WebhookSigner; idempotency: IdempotencyKeys; logger: Logger; metrics: Metrics; channel?: () => ProviderChannel | null }): FastifyInstance {
  // Per-request logs at warn: at thousands of authorizations a second, info lines would be most of the work.
  const app = Fastify({ loggerInstance: deps.logger.child({}, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: BODY_LIMIT });
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
    if (error instanceof SidebandError) return reply.status(error.status).send(error.toBody());
    const e = error as { code?: string; statusCode?: number; message: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(new SidebandError('BODY_TOO_LARGE', `The body is larger than ${BODY_LIMIT} bytes.`).toBody());
    if (e.statusCode && e.statusCode < 500) return reply.status(e.statusCode).send(new SidebandError('FIELD_INVALID', e.message).toBody());
    request.log.error({ err: error }, 'merchant API request failed');
    return reply.status(500).send(new SidebandError('INTERNAL', `Internal error; correlation id ${request.id}.`).toBody());
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(new SidebandError('NOT_FOUND', `No route ${request.method} ${request.url}.`).toBody()));

  app.get('/v1/openapi.json', async () => openApiDocument);
  app.get('/v1/webhook-keys', async () => deps.signer.jwks());

  app.register(async (signed) => {
    signed.addHook('preHandler', async (request: Authed) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      request.rawBody = raw;
      const url = `${request.protocol}://${request.headers.host ?? 'localhost'}${request.url}`;
      request.merchant = await deps.auth.authenticate({ method: request.method, url, headers: request.headers, body: raw });
      request.log = request.log.child({ merchant: request.merchant.merchant.id });
    });

    const merchantOf = (r: Authed) => r.merchant!.merchant;

    /**
     * Runs a POST under its Idempotency-Key: required for creating an authorization,
     * optional (and sent by the SDK) for captures and refunds, so retries are safe.
     */
    const idempotent = async (request: Authed, reply: FastifyReply, required: boolean, handler: () => Promise<{ status: number; body: unknown }>) => {
      const merchant = merchantOf(request);
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length === 0) {
        if (required) throw new SidebandError('IDEMPOTENCY_KEY_MISSING', 'Send an Idempotency-Key header, unique per purchase.', { param: 'Idempotency-Key' });
        const r = await handler();
        return reply.status(r.status).send(r.body);
      }
      const started = await deps.idempotency.begin(merchant.id, key, IdempotencyKeys.hash(request.method, request.url, request.rawBody!));
      if (started.kind === 'replay') return reply.status(started.status).header('idempotent-replayed', 'true').type('application/json').send(started.body);
      let status: number;
      let body: string;
      try {
        const r = await handler();
        status = r.status;
        body = JSON.stringify(r.body);
      } catch (e) {
        if (!(e instanceof SidebandError) || e.status >= 500) {
          await deps.idempotency.finish(merchant.id, key, 500, '');
          throw e;
        }
        status = e.status;
        body = JSON.stringify(e.toBody());
      }
      await deps.idempotency.finish(merchant.id, key, status, body);
      return reply.status(status).type('application/json').send(body);
    };

    signed.post('/v1/authorizations', async (request: Authed, reply: FastifyReply) =>
      idempotent(request, reply, true, async () => {
        const input = parseCreateAuthorization(parseJson(request.rawBody));
        return { status: 201, body: merchantView(await deps.authorizations.create(merchantOf(request), input)) };
      }));

    signed.get('/v1/authorizations', async (request: Authed) => {
      const q = request.query as Record<string, string | undefined>;
      const limit = q.limit === undefined ? 20 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new SidebandError('FIELD_INVALID', 'limit must be 1 to 100.', { param: 'limit' });
      const time = (name: string) => {
        const v = q[name];
        if (v === undefined) return undefined;
        const t = Date.parse(v);
        if (Number.isNaN(t)) throw new SidebandError('FIELD_INVALID', `${name} must be an ISO 8601 time.`, { param: name });
        return t;
      };
      const list = await deps.authorizations.lifecycle.list(merchantOf(request).id, { status: q.status, createdAfter: time('createdAfter'), createdBefore: time('createdBefore'), limit, startingAfter: q.startingAfter });
      return { object: 'list', data: list.rows.map(merchantView), hasMore: list.hasMore };
    });

    signed.get('/v1/authorizations/:id', async (request: Authed) => merchantView(await deps.authorizations.lifecycle.get(merchantOf(request).id, (request.params as { id: string }).id)));

    signed.post('/v1/authorizations/:id/captures', async (request: Authed, reply) =>
      idempotent(request, reply, false, async () => {
        const { amount } = parseMovement(parseJson(request.rawBody), false);
        const { row, eventId } = await deps.authorizations.lifecycle.captureMovement(merchantOf(request).id, (request.params as { id: string }).id, amount);
        return { status: 201, body: await deps.authorizations.lifecycle.movement(merchantOf(request).id, eventId, row) };
      }));

    signed.post('/v1/authorizations/:id/void', async (request: Authed) => merchantView(await deps.authorizations.lifecycle.void(merchantOf(request).id, (request.params as { id: string }).id)));

    signed.post('/v1/authorizations/:id/refunds', async (request: Authed, reply) =>
      idempotent(request, reply, false, async () => {
        const { amount, reason } = parseMovement(parseJson(request.rawBody), true);
        const { row, eventId } = await deps.authorizations.lifecycle.refundMovement(merchantOf(request).id, (request.params as { id: string }).id, amount, reason);
        return { status: 201, body: await deps.authorizations.lifecycle.movement(merchantOf(request).id, eventId, row) };
      }));

    const channel = (): ProviderChannel => {
      const c = deps.channel?.();
      if (!c) throw new SidebandError('CHANNEL_UNAVAILABLE', 'This gateway runs no secure channel.');
      return c;
    };
    signed.get('/v1/channel', async () => channel().capabilities());
    signed.post('/v1/channel/exchanges', async (request: Authed, reply) =>
      idempotent(request, reply, false, async () => ({ status: 201, body: await channel().merchantInitiated(merchantOf(request).id, parseExchangeRequest(parseJson(request.rawBody))) })));
    signed.get('/v1/channel/exchanges/:id', async (request: Authed) => channel().view((request.params as { id: string }).id, merchantOf(request).id));

    signed.get('/v1/captures/:id', async (request: Authed) => deps.authorizations.lifecycle.movement(merchantOf(request).id, (request.params as { id: string }).id, null, 'capture'));
    signed.get('/v1/refunds/:id', async (request: Authed) => deps.authorizations.lifecycle.movement(merchantOf(request).id, (request.params as { id: string }).id, null, 'refund'));
  });

  return app;
}
