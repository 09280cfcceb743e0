import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Config } from '../../config/schema.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { TrustedProxies } from '../../gateway/trusted-proxies.ts';
import type { OperatorTokens } from '../../provisioning/operator-tokens.ts';
import type { Store } from '../../store/open-store.ts';
import { assertSameOriginForm, clearSessionCookie, formField, parseForms, readCookie, securePages, sessionCookie, setSessionCookie } from '../page-security.ts';
import { serveAssets } from '../static-assets.ts';
import { WebSessionStore, type FormKeys, type StoredWebSession } from '../web-session-store.ts';
import {
  auditPage, authorizationPage, authorizationsPage, callsPage, consoleErrorPage, consoleLoginPage, merchantPage, merchantsPage, networkPage, resolvePage, sessionsPage,
  type Json, type Operator,
} from './console-pages.ts';

interface ConsoleSessionData {
  /** The operator's bearer token, kept here (never in the cookie; sealed in the store) to call the operator API for the pages. */
  token: string | null;
}

type ConsoleSession = StoredWebSession<ConsoleSessionData>;
type SignedInSession = ConsoleSession & { subject: string; data: { token: string } };

const COOKIE = 'sb_console';

/** What the merchant page says after each of its forms (only these: the query never becomes text). */
const DONE: Readonly<Record<string, string>> = {
  certified: 'Merchant certified.', revoked: 'Merchant revoked.', 'key-added': 'Key added.', 'key-revoked': 'Key revoked.',
  'network-added': 'Network added.', 'network-removed': 'Network removed.', 'channel-set': 'Channel endpoint set.', 'webhook-set': 'Webhook URL changed.',
};

/** An answer of the operator API that was an error: its code and message, for the page. */
class ApiRefusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The operator console at /console/ on the operator listener: pages over the operator
 * API. Each page asks the API's own routes (in process, with the signed-in operator's
 * token), so the console shows exactly what the JSON API answers and is authorized the same
 * way; it adds no query of its own.
 */
export function operatorConsole(root: FastifyInstance, tokens: OperatorTokens, store: Store, config: Config, keyring: FormKeys) {
  const sessions = new WebSessionStore<ConsoleSessionData>(store, 'console', { idleMs: 15 * 60_000, perSubject: config.web.sessionsPerSubject }, { keys: keyring, data: { token: null } });
  const proxies = new TrustedProxies(config.web.trustedProxies, 'web.trustedProxies');
  const cookie = (request: FastifyRequest) => sessionCookie(request, proxies, COOKIE, '/console');
  const sameOrigin = (request: FastifyRequest, csrf: string | undefined) => assertSameOriginForm(request, csrf, proxies);
  const session = (request: FastifyRequest): Promise<ConsoleSession | null> => sessions.get(readCookie(request, COOKIE));
  const signedIn = async (request: FastifyRequest): Promise<SignedInSession> => {
    const s = await session(request);
    if (!s?.data.token || !s.subject) throw new SidebandError('WEB_SESSION_EXPIRED');
    return s as SignedInSession;
  };
  const who = (s: ConsoleSession): Operator => ({ name: s.subject!, csrf: s.csrf });
  const htmlReply = (reply: FastifyReply, body: string, status = 200) => reply.status(status).type('text/html; charset=utf-8').send(body);

  async function api(s: { data: { token: string } }, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<Json> {
    const res = await root.inject({ method, url, headers: { authorization: `Bearer ${s.data.token}`, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload: JSON.stringify(payload) } : {}) });
    const body = res.json() as Json & { error?: { code: string; message: string } };
    if (res.statusCode >= 400) {
      if (body.error?.code === 'OPERATOR_TOKEN_INVALID') throw new SidebandError('WEB_SESSION_EXPIRED', 'The operator token was revoked; sign in with another.');
      throw new ApiRefusal(res.statusCode, body.error?.code ?? 'INTERNAL', body.error?.message ?? `The operator API answered ${res.statusCode}.`);
    }
    return body;
  }
  const list = async (s: { data: { token: string } }, url: string): Promise<Json[]> => (await api(s, 'GET', url)).data as Json[];
  const qs = (q: Record<string, string | undefined>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
    const t = p.toString();
    return t ? `?${t}` : '';
  };

  return async (app: FastifyInstance): Promise<void> => {
    securePages(app);
    parseForms(app);
    serveAssets(app, '/assets', ['site.css']);

    app.setErrorHandler(async (error, request, reply) => {
      const s = await session(request).catch(() => null);
      const operator = s?.data.token ? who(s) : null;
      if (error instanceof SidebandError) {
        if (error.code === 'WEB_SESSION_EXPIRED' && request.method === 'GET') return reply.redirect('/console/login', 303);
        return htmlReply(reply, consoleErrorPage(operator, error.status, error.code, error.message), error.status);
      }
      if (error instanceof ApiRefusal) return htmlReply(reply, consoleErrorPage(operator, error.status, error.code, error.message), error.status);
      const e = error as { statusCode?: number; message: string };
      if (e.statusCode && e.statusCode < 500) return htmlReply(reply, consoleErrorPage(operator, e.statusCode, 'REQUEST_INVALID', e.message), e.statusCode);
      request.log.error({ err: error }, 'console request failed');
      return htmlReply(reply, consoleErrorPage(operator, 500, 'INTERNAL', `Internal error; correlation id ${request.id}.`), 500);
    });
    app.setNotFoundHandler((request, reply) => htmlReply(reply, consoleErrorPage(null, 404, 'NOT_FOUND', `No page ${request.url}.`), 404));

    app.get('/', async (request, reply) => reply.redirect((await session(request))?.data.token ? '/console/resolve' : '/console/login', 303));
    app.get('/login', async (request, reply) => {
      if ((await session(request))?.data.token) return reply.redirect('/console/resolve', 303);
      const id = readCookie(request, COOKIE);
      // The form's session is written nowhere (web-session-store.ts): asking for the form stores nothing.
      const s = sessions.formSession(id);
      if (s.id !== id) setSessionCookie(reply, cookie(request), s.id);
      return htmlReply(reply, consoleLoginPage(s.csrf));
    });
    app.post('/login', async (request, reply) => {
      const id = readCookie(request, COOKIE);
      sameOrigin(request, sessions.formToken(id, formField(request, '_csrf')));
      const pre = sessions.formSession(id);
      const token = (formField(request, 'token') ?? '').trim();
      const name = token ? await tokens.verify(token) : undefined;
      if (!name) return htmlReply(reply, consoleLoginPage(pre.csrf, 'That token is unknown or revoked.'), 401);
      await sessions.destroy(pre.id);
      const s = await sessions.create(name, { token });
      setSessionCookie(reply, cookie(request), s.id);
      return reply.redirect('/console/resolve', 303);
    });
    app.post('/logout', async (request, reply) => {
      const s = await signedIn(request);
      sameOrigin(request, s.csrf);
      await sessions.destroy(s.id);
      clearSessionCookie(reply, cookie(request));
      return reply.redirect('/console/login', 303);
    });

    app.get('/resolve', async (request, reply) => {
      const s = await signedIn(request);
      const q = request.query as { address?: string; port?: string; at?: string };
      let answer: Parameters<typeof resolvePage>[2] = null;
      if (q.address) {
        try {
          answer = { ok: true, body: await api(s, 'GET', `/v1/resolve${qs({ address: q.address, port: q.port, at: q.at })}`) };
        } catch (e) {
          if (!(e instanceof ApiRefusal)) throw e;
          answer = { ok: false, message: `${e.message} (${e.code})` };
        }
      }
      return htmlReply(reply, resolvePage(who(s), q, answer));
    });
    app.get('/sessions', async (request, reply) => {
      const s = await signedIn(request);
      return htmlReply(reply, sessionsPage(who(s), await list(s, '/v1/sessions'), await list(s, '/v1/pools/usage')));
    });
    app.get('/network', async (request, reply) => {
      const s = await signedIn(request);
      return htmlReply(reply, networkPage(who(s), await list(s, '/v1/nas'), await list(s, '/v1/pools'), await list(s, '/v1/exporters')));
    });
    app.get('/merchants', async (request, reply) => {
      const s = await signedIn(request);
      return htmlReply(reply, merchantsPage(who(s), await list(s, '/v1/merchants')));
    });
    app.get('/merchants/:id', async (request, reply) => {
      const s = await signedIn(request);
      const id = encodeURIComponent((request.params as { id: string }).id);
      const done = (request.query as { done?: string }).done;
      return htmlReply(reply, merchantPage(who(s), await api(s, 'GET', `/v1/merchants/${id}`), await list(s, `/v1/merchants/${id}/webhook-deliveries`), done ? DONE[done] : undefined));
    });
    for (const action of ['certify', 'revoke'] as const) {
      app.post(`/merchants/:id/${action}`, async (request, reply) => {
        const s = await signedIn(request);
        sameOrigin(request, s.csrf);
        const id = encodeURIComponent((request.params as { id: string }).id);
        await api(s, 'POST', `/v1/merchants/${id}/${action}`);
        return reply.redirect(`/console/merchants/${id}?done=${action === 'certify' ? 'certified' : 'revoked'}`, 303);
      });
    }
    // Managing a merchant: each form posts here and the console calls the operator API's
    // JSON route with the signed-in token, so the change is audited as operator:NAME.
    const manage = (path: string, done: string, call: (s: { data: { token: string } }, id: string, field: (name: string) => string) => Promise<unknown>) => {
      app.post(`/merchants/:id/${path}`, async (request, reply) => {
        const s = await signedIn(request);
        sameOrigin(request, s.csrf);
        const id = encodeURIComponent((request.params as { id: string }).id);
        await call(s, id, (name) => formField(request, name) ?? '');
        return reply.redirect(`/console/merchants/${id}?done=${done}`, 303);
      });
    };
    manage('keys', 'key-added', (s, id, f) => api(s, 'POST', `/v1/merchants/${id}/keys`, { publicKey: f('publicKey'), use: f('use') || 'sig', ...(f('keyId').trim() ? { keyId: f('keyId').trim() } : {}) }));
    manage('keys/revoke', 'key-revoked', (s, id, f) => api(s, 'POST', `/v1/merchants/${id}/keys/${encodeURIComponent(f('keyId'))}/revoke`));
    manage('networks', 'network-added', (s, id, f) => api(s, 'POST', `/v1/merchants/${id}/networks`, { cidr: f('cidr').trim() }));
    manage('networks/remove', 'network-removed', (s, id, f) => api(s, 'DELETE', `/v1/merchants/${id}/networks${qs({ cidr: f('cidr') })}`));
    manage('channel', 'channel-set', (s, id, f) => api(s, 'PUT', `/v1/merchants/${id}/channel`, { url: f('url').trim(), lineNumber: f('lineNumber').trim(), fingerprint: f('fingerprint').trim() }));
    manage('webhook', 'webhook-set', (s, id, f) => api(s, 'PUT', `/v1/merchants/${id}/webhook`, { url: f('url').trim() || null }));
    app.get('/authorizations', async (request, reply) => {
      const s = await signedIn(request);
      const q = request.query as { subscriber?: string; merchant?: string; status?: string };
      return htmlReply(reply, authorizationsPage(who(s), q, await list(s, `/v1/authorizations${qs({ subscriber: q.subscriber, merchant: q.merchant, status: q.status, limit: '200' })}`)));
    });
    app.get('/authorizations/:id', async (request, reply) => {
      const s = await signedIn(request);
      return htmlReply(reply, authorizationPage(who(s), await api(s, 'GET', `/v1/authorizations/${encodeURIComponent((request.params as { id: string }).id)}`)));
    });
    app.get('/calls', async (request, reply) => {
      const s = await signedIn(request);
      let calls: Json[] = [];
      try {
        calls = await list(s, '/v1/channel/calls');
      } catch (e) {
        if (!(e instanceof ApiRefusal && e.code === ('CHANNEL_UNAVAILABLE' satisfies ErrorCode))) throw e;
      }
      return htmlReply(reply, callsPage(who(s), calls));
    });
    app.get('/audit', async (request, reply) => {
      const s = await signedIn(request);
      const q = request.query as { action?: string; actor?: string; subject?: string; before?: string };
      const rows = await list(s, `/v1/audit${qs({ action: q.action, actor: q.actor, subject: q.subject, before: q.before, limit: '100' })}`);
      return htmlReply(reply, auditPage(who(s), q, rows, rows.length === 100 ? String(rows[rows.length - 1]!.id) : null));
    });
  };
}
