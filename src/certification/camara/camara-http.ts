import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseRfc3339 } from '../../core/time/rfc3339.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { CamaraError, camaraErrorOf } from './camara-error.ts';
import { redactCardNumbers } from '../../observability/redact.ts';
import { storeContended } from '../../store/failure-kind.ts';
import type { CamaraScope, OAuthTokens, TokenMerchant } from './oauth-tokens.ts';

/** CAMARA_common.yaml XCorrelator. */
const X_CORRELATOR = /^[a-zA-Z0-9-_:;./<>{}]{0,256}$/;
const OBJECT_ID = /^[A-Za-z0-9_]{1,64}$/;

export type CamaraRequest = FastifyRequest & { token?: TokenMerchant; rawBody?: Buffer };

/**
 * What every CAMARA API of this gateway shares (payments v0.5, refunds v0.3): `x-correlator`
 * echoed on every answer (CAMARA_common), a bearer access token read before the handler,
 * and errors as CAMARA's `{ status, code, message }`.
 */
export function camaraHooks(app: FastifyInstance, tokens: OAuthTokens): void {
  app.addHook('onRequest', async (request, reply) => {
    const correlator = request.headers['x-correlator'];
    if (typeof correlator === 'string') {
      if (!X_CORRELATOR.test(correlator)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'x-correlator must match ^[a-zA-Z0-9-_:;./<>{}]{0,256}$.' });
      reply.header('x-correlator', correlator);
    }
  });
  app.addHook('preHandler', async (request: CamaraRequest) => {
    request.rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    request.token = await tokens.authenticate(request.headers.authorization);
  });
  app.setErrorHandler((error, request, reply) => {
    // Messages may quote what the client sent: a card number in it is masked, as everywhere.
    const info = camaraErrorOf(error);
    if (info) return reply.status(info.status).send({ ...info, message: redactCardNumbers(info.message) });
    const e = error as { code?: string; statusCode?: number; message: string };
    if (e.statusCode && e.statusCode < 500) return reply.status(400).send({ status: 400, code: 'INVALID_ARGUMENT', message: redactCardNumbers(e.message) });
    const contended = storeContended(error);
    if (contended) {
      request.log.warn({ err: error }, 'CAMARA request waited out lock_timeout');
      // CAMARA Commonalities' code for 503.
      return reply.status(503).header('retry-after', '1').send({ status: 503, code: 'UNAVAILABLE', message: contended.message });
    }
    request.log.error({ err: error }, 'CAMARA request failed');
    return reply.status(500).send({ status: 500, code: 'INTERNAL', message: `Internal error; correlation id ${request.id}.` });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ status: 404, code: 'NOT_FOUND', message: redactCardNumbers(`No route ${request.method} ${request.url}.`) }));
}

/** The token's merchant, when the token carries the scope CAMARA names for the operation. */
export function merchantOf(request: CamaraRequest, scope: CamaraScope): TokenMerchant['merchant'] {
  if (!request.token!.scopes.has(scope)) throw new SidebandError('ACCESS_TOKEN_SCOPE_MISSING', `This operation needs the scope ${scope}.`);
  return request.token!.merchant;
}

/** A path id; one that cannot be an id is simply not found. */
export function pathId(request: FastifyRequest, name: string): string {
  const id = (request.params as Record<string, string>)[name]!;
  if (!OBJECT_ID.test(id)) throw new CamaraError({ status: 404, code: 'NOT_FOUND', message: 'The specified resource is not found.' });
  return id;
}

export interface ListQuery<S extends string> {
  page: number;
  perPage: number;
  gte: number | undefined;
  lte: number | undefined;
  order: 'asc' | 'desc';
  statuses: S[];
}

/**
 * The list operations' query (retrievePayments, retrieveRefunds): `page`, `perPage`
 * (at most 100), `<date>.gte|lte` (only gte: up to now), `order`, the status filter
 * (repeated or comma-separated); `merchantIdentifier` is refused, Sideband keeps none.
 */
export function listQuery<S extends string>(request: FastifyRequest, names: { date: string; status: string; known: readonly S[]; dateRangeCode: string }): ListQuery<S> {
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
  const gte = time(`${names.date}.gte`);
  const lte = time(`${names.date}.lte`) ?? (gte !== undefined ? Date.now() : undefined);
  if (gte !== undefined && lte !== undefined && gte > lte) throw new CamaraError({ status: 400, code: names.dateRangeCode, message: 'Client specified an invalid date range.' });
  const order = one('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'order must be asc or desc.' });
  if (q.merchantIdentifier !== undefined) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: 'merchantIdentifier is not kept by this gateway; leave it out.' });
  const raw = q[names.status];
  const statuses = (raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(','))) as S[];
  for (const s of statuses) if (!names.known.includes(s)) throw new CamaraError({ status: 400, code: 'INVALID_ARGUMENT', message: `${names.status} must be among ${names.known.join(', ')}.` });
  return { page, perPage, gte, lte, order, statuses };
}
