import { sql } from 'kysely';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { SidebandError } from '../errors/sideband-error.ts';
import { storeContended } from '../store/failure-kind.ts';
import type { Context } from '../gateway/context.ts';
import type { Metrics } from '../observability/metrics.ts';
import { httpLimits } from '../gateway/http-limits.ts';
import { MerchantRegistry } from '../certification/merchant-registry.ts';
import { pageLimit } from './page-limit.ts';
import { toIso } from '../core/time/to-iso.ts';

const body = (req: FastifyRequest): Record<string, unknown> => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/** A required string field of a JSON body or query. */
function text(fields: Record<string, unknown>, name: string): string {
  const v = fields[name];
  if (typeof v !== 'string' || v.trim() === '') throw new SidebandError('REQUEST_INVALID', `${name} is required (a string).`, { param: name });
  return v;
}

/** A part of the gateway that adds routes under /v1 of the operator API. */
export type OperatorRoutes = (app: FastifyInstance) => void;

/**
 * The operator's HTTP port: /healthz and /metrics open (bind it to a management
 * network), everything under /v1 behind a bearer token the CLI issues.
 */
export function buildOperatorApi(ctx: Context, metrics: Metrics, parts: OperatorRoutes[] = []): FastifyInstance {
  const app = Fastify({ loggerInstance: ctx.logger.child({ part: 'operator-http' }) as FastifyBaseLogger, ...httpLimits(ctx.config.http, 64 * 1024) });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof SidebandError) {
      // As the merchant API does: when a retry may succeed is part of the answer (RFC 9110 §10.2.3).
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.status).send(error.toBody());
    }
    const e = error as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation || (e.statusCode && e.statusCode < 500)) {
      return reply.status(e.statusCode ?? 400).send(new SidebandError('REQUEST_INVALID', e.message).toBody());
    }
    const contended = storeContended(error);
    if (contended) {
      request.log.warn({ err: error }, 'operator API request waited out lock_timeout');
      return reply.status(503).header('retry-after', '1').send(contended.toBody());
    }
    request.log.error({ err: error }, 'operator API request failed');
    return reply.status(500).send(new SidebandError('INTERNAL', `Internal error; correlation id ${request.id}.`).toBody());
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(new SidebandError('NOT_FOUND', `No route ${request.method} ${request.url}.`).toBody()));

  // Healthy means able to serve: the process answers and its database does, within 2 s.
  // Load balancers and `systemd` watchdogs probe this (docs/operations.md).
  app.get('/healthz', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([sql`select 1`.execute(ctx.store.db), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 2000)))]);
      return { status: 'ok', store: ctx.store.dialect };
    } catch {
      return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, error: { code: 'STORE_UNREACHABLE' } });
    } finally {
      clearTimeout(timer);
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.register(async (v1) => {
    v1.addHook('onRequest', async (request: FastifyRequest) => {
      // The scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` and `Bearer` alike.
      const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
      if (!bearer) throw new SidebandError('OPERATOR_TOKEN_MISSING');
      const name = await ctx.tokens.verify(bearer[1]!);
      if (!name) throw new SidebandError('OPERATOR_TOKEN_INVALID');
      request.log = request.log.child({ operator: name });
      (request as FastifyRequest & { operator?: string }).operator = name;
    });
    v1.get('/subscribers', async (req) => {
      const q = req.query as { status?: 'active' | 'suspended' | 'closed'; after?: string; limit?: string };
      return { data: await ctx.subscribers.list({ ...(q.status ? { status: q.status } : {}), ...(q.after ? { after: q.after } : {}), limit: pageLimit(q.limit, 100, 1000) }) };
    });
    v1.get('/subscribers/:login', async (req) => ctx.subscribers.show((req.params as { login: string }).login));
    v1.get('/merchants', async () => ({ data: await ctx.merchants.list() }));
    v1.get('/merchants/:id', async (req) => ctx.merchants.show((req.params as { id: string }).id));
    v1.get('/nas', async () => ({ data: await ctx.network.listNas() }));
    v1.get('/pools', async () => ({ data: await ctx.network.listPools() }));
    v1.get('/exporters', async () => ({ data: await ctx.exporters.list() }));
    // Changes to a merchant are audited under the operator's token name.
    const registryFor = (req: FastifyRequest) => new MerchantRegistry(ctx.store, `operator:${(req as FastifyRequest & { operator?: string }).operator ?? 'unknown'}`);
    const merchantId = (req: FastifyRequest) => (req.params as { id: string }).id;
    v1.post('/merchants/:id/certify', async (req) => registryFor(req).certify(merchantId(req)));
    v1.post('/merchants/:id/revoke', async (req) => registryFor(req).revoke(merchantId(req)));
    v1.post('/merchants/:id/keys', async (req, reply) => {
      const b = body(req);
      const use = b.use ?? 'sig';
      if (use !== 'sig' && use !== 'enc') throw new SidebandError('REQUEST_INVALID', 'use is sig (signing requests) or enc (receiving data encrypted to the merchant).', { param: 'use' });
      const key = await registryFor(req).addKey(merchantId(req), { publicKey: text(b, 'publicKey'), use, ...(b.keyId ? { keyId: text(b, 'keyId') } : {}) });
      return reply.status(201).send(key);
    });
    v1.post('/merchants/:id/keys/:keyId/revoke', async (req) => {
      await registryFor(req).revokeKey(merchantId(req), (req.params as { keyId: string }).keyId);
      return ctx.merchants.show(merchantId(req));
    });
    v1.post('/merchants/:id/networks', async (req) => registryFor(req).addNetwork(merchantId(req), text(body(req), 'cidr')));
    v1.delete('/merchants/:id/networks', async (req) => registryFor(req).removeNetwork(merchantId(req), text(req.query as Record<string, unknown>, 'cidr')));
    v1.put('/merchants/:id/channel', async (req) => {
      const b = body(req);
      return registryFor(req).setChannel(merchantId(req), { url: text(b, 'url'), lineNumber: text(b, 'lineNumber'), fingerprint: text(b, 'fingerprint') });
    });
    v1.put('/merchants/:id/webhook', async (req) => {
      const url = body(req).url;
      if (url !== null && typeof url !== 'string') throw new SidebandError('REQUEST_INVALID', 'url is the webhook URL, or null to remove it.', { param: 'url' });
      return registryFor(req).setWebhook(merchantId(req), url === '' ? null : url);
    });
    v1.get('/audit', async (req) => {
      const q = req.query as { action?: string; actor?: string; subject?: string; before?: string; limit?: string };
      let query = ctx.store.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(pageLimit(q.limit, 100, 500));
      // An action filter ending in "." is a prefix: `vault.` is every vault action.
      if (q.action) query = q.action.endsWith('.') ? query.where('action', 'like', `${q.action.replace(/[%_]/g, '')}%`) : query.where('action', '=', q.action);
      if (q.actor) query = query.where('actor', '=', q.actor);
      if (q.subject) query = query.where('subject_id', '=', q.subject);
      if (q.before) query = query.where('id', '<', q.before);
      const rows = await query.execute();
      return { data: rows.map((r) => ({ id: r.id, at: toIso(r.at), actor: r.actor, action: r.action, subjectType: r.subject_type, subjectId: r.subject_id, detail: r.detail ? (JSON.parse(r.detail) as unknown) : null })) };
    });
    for (const part of parts) part(v1);
  }, { prefix: '/v1' });

  return app;
}
