import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LoginThrottle, type LoginAttempt } from '../../aaa/service/login-throttle.ts';
import { SubscriberDirectory } from '../../aaa/service/subscriber-directory.ts';
import type { AuthorizationLifecycle } from '../../certification/authorization/authorization-lifecycle.ts';
import type { ProviderChannel } from '../../channel/service/provider-channel.ts';
import type { Config } from '../../config/schema.ts';
import { hashPassword, verifyPassword } from '../../core/identity/password-hash.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { TrustedProxies } from '../../gateway/trusted-proxies.ts';
import { httpLimits } from '../../gateway/http-limits.ts';
import type { Logger } from '../../observability/logger.ts';
import { SubscriberProvisioning } from '../../provisioning/subscribers.ts';
import type { JobLeases } from '../../store/job-leases.ts';
import type { Store } from '../../store/open-store.ts';
import type { DestinationTracking } from '../../tracking/service/destination-tracking.ts';
import type { Vault } from '../../vault/vault.ts';
import { assertSameOriginForm, clearSessionCookie, formField, parseForms, readCookie, securePages, sessionCookie, setSessionCookie, type CookieOptions } from '../page-security.ts';
import { serveAssets } from '../static-assets.ts';
import { pruneWebSessions, WebSessionStore, type StoredWebSession } from '../web-session-store.ts';
import { PendingFeed } from './pending-feed.ts';
import { CamaraConsents } from '../../certification/camara/camara-consents.ts';
import { channelPage, errorPage, loginPage, nowPage, pendingList, purchasesPage, settingsPage, type Signed } from './portal-pages.ts';
import { SubscriberPortalView } from './subscriber-view.ts';

export interface PortalDependencies {
  config: Config;
  logger: Logger;
  store: Store;
  vault: Vault;
  tracking: DestinationTracking;
  lifecycle: AuthorizationLifecycle;
  channel: () => ProviderChannel | null;
  /** Runs the pruning of expired web sessions (every site's) on one gateway at a time. */
  jobs: JobLeases;
  scryptCost?: { N: number; r: number; p: number };
}

interface PortalSessionData {
  /** Null until the log-in succeeded: the log-in form's session holds only its CSRF token. */
  login: string | null;
}

type PortalSession = StoredWebSession<PortalSessionData>;
type SignedInSession = PortalSession & { subject: string; data: { login: string } };

const IDLE_MS = 30 * 60_000;
const PRUNE_EVERY_MS = 60_000;

const COOKIE = 'sb_portal';

/**
 * The subscriber portal (docs: README, "Web pages"): its own listener, since subscribers
 * reach it from the access network while the operator port stays on a management network.
 * Pages are rendered on the server; the one script only keeps the pending list live.
 */
export class SubscriberPortal {
  readonly app: FastifyInstance;
  private readonly sessions: WebSessionStore<PortalSessionData>;
  private readonly proxies: TrustedProxies;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly view: SubscriberPortalView;
  private readonly feed: PendingFeed;
  private readonly consents: CamaraConsents;

  constructor(private readonly deps: PortalDependencies) {
    const { config, store, vault } = deps;
    this.sessions = new WebSessionStore(store, 'portal', { idleMs: IDLE_MS, perSubject: config.web.sessionsPerSubject }, { keys: vault.keyring, data: { login: null } });
    this.proxies = new TrustedProxies(config.web.trustedProxies, 'web.trustedProxies');
    // Every site's expired sessions (the console's too), by whichever gateway holds the lease.
    this.pruneTimer = setInterval(() => void deps.jobs.run('web-session-prune', PRUNE_EVERY_MS * 3, () => pruneWebSessions(store)).catch((e) => deps.logger.warn({ err: e }, 'web session pruning failed')), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.app = Fastify({ loggerInstance: deps.logger.child({ part: 'portal-http' }) as FastifyBaseLogger, ...httpLimits(config.http, 16 * 1024) });
    // The portal's changes (the auto-approve threshold) are audited as the portal's.
    const subscribers = new SubscriberProvisioning(store, vault, { actor: 'portal', ...(deps.scryptCost ? { scryptCost: deps.scryptCost } : {}) });
    this.view = new SubscriberPortalView(store, subscribers, deps.tracking, deps.channel);
    this.consents = new CamaraConsents(store, 'portal');
    this.feed = new PendingFeed(
      (id) => this.view.pendingKey(id),
      async (id, csrf) => {
        const { pending } = await this.view.purchases(id);
        return { html: pendingList(csrf, pending).text, announce: pending.length === 0 ? 'Nothing is waiting for you.' : `${pending.length} purchase${pending.length > 1 ? 's' : ''} waiting for you.` };
      },
      // Not counted as use: an open Purchases page left alone still idles out.
      (sessionId, subscriberId) => this.sessions.stands(sessionId, subscriberId),
      (e) => deps.logger.warn({ err: e }, 'portal live feed failed'),
    );
    this.routes(new SubscriberDirectory(store, vault), new LoginThrottle(config.radius.maxFailures, config.radius.failureWindowSeconds * 1000, config.radius.maxFailuresPerLogin));
  }

  private cookie(request: FastifyRequest): CookieOptions {
    return sessionCookie(request, this.proxies, COOKIE, '/');
  }

  private session(request: FastifyRequest): Promise<PortalSession | null> {
    return this.sessions.get(readCookie(request, COOKIE));
  }

  /** The signed-in subscriber's session, or a 401 (a form post) / redirect to the log-in page (a page). */
  private async signedIn(request: FastifyRequest): Promise<SignedInSession> {
    const s = await this.session(request);
    if (!s || !s.subject || !s.data.login) throw new SidebandError('WEB_SESSION_EXPIRED');
    return s as SignedInSession;
  }

  private routes(directory: SubscriberDirectory, throttle: LoginThrottle): void {
    const { app } = this;
    const { lifecycle } = this.deps;
    securePages(app);
    parseForms(app);
    serveAssets(app, '/assets', ['site.css', 'portal.js']);
    const signed = (s: PortalSession): Signed => ({ login: s.data.login!, csrf: s.csrf });
    const sameOrigin = (request: FastifyRequest, csrf: string | undefined) => assertSameOriginForm(request, csrf, this.proxies);
    const htmlReply = (reply: FastifyReply, body: string, status = 200) => reply.status(status).type('text/html; charset=utf-8').send(body);

    app.setErrorHandler(async (error, request, reply) => {
      const s = await this.session(request).catch(() => null);
      const who = s?.subject ? signed(s) : null;
      if (error instanceof SidebandError) {
        if (error.code === 'WEB_SESSION_EXPIRED' && request.method === 'GET') return reply.redirect('/login', 303);
        return htmlReply(reply, errorPage(error.status, error.code, error.message, who), error.status);
      }
      const e = error as { statusCode?: number; message: string };
      if (e.statusCode && e.statusCode < 500) return htmlReply(reply, errorPage(e.statusCode, 'REQUEST_INVALID', e.message, who), e.statusCode);
      request.log.error({ err: error }, 'portal request failed');
      return htmlReply(reply, errorPage(500, 'INTERNAL', `Internal error; correlation id ${request.id}.`, who), 500);
    });
    app.setNotFoundHandler((request, reply) => htmlReply(reply, errorPage(404, 'NOT_FOUND', `No page ${request.url}.`, null), 404));

    app.get('/', async (request, reply) => reply.redirect((await this.session(request))?.subject ? '/now' : '/login', 303));

    app.get('/login', async (request, reply) => {
      if ((await this.session(request))?.subject) return reply.redirect('/now', 303);
      const id = readCookie(request, COOKIE);
      // The form's session is written nowhere (web-session-store.ts): asking for the form stores nothing.
      const s = this.sessions.formSession(id);
      if (s.id !== id) setSessionCookie(reply, this.cookie(request), s.id);
      return htmlReply(reply, loginPage(s.csrf));
    });

    // A hash of a random password: an unknown login costs the same scrypt as a known one.
    const decoy = hashPassword(`decoy-${Math.random()}`, this.deps.scryptCost);
    app.post('/login', async (request, reply) => {
      const id = readCookie(request, COOKIE);
      sameOrigin(request, this.sessions.formToken(id, formField(request, '_csrf')));
      const pre = this.sessions.formSession(id);
      const login = (formField(request, 'login') ?? '').trim();
      const password = formField(request, 'password') ?? '';
      // Counted as RADIUS counts: per login from this address, and per login from all addresses.
      const key: LoginAttempt = { login, nasId: 'portal', callingStationId: this.proxies.clientAddress(request) };
      // Admitted before the password check, not counted after it: sign-ins sent together would all get through.
      const attempt = throttle.admit(key);
      if (!attempt) {
        throw new SidebandError('PORTAL_LOGIN_THROTTLED', `Too many failed sign-ins for ${login} from this address; wait ${this.deps.config.radius.failureWindowSeconds} seconds and try again.`, { retryAfterSeconds: this.deps.config.radius.failureWindowSeconds });
      }
      let entry;
      try {
        entry = login ? await directory.get(login) : null;
        const ok = entry ? await directory.verifyHash(entry, password) : await verifyPassword(password, await decoy).then(() => false);
        if (!entry || !ok || entry.status !== 'active') {
          attempt.fail();
          request.log.info({ login: login.slice(0, 64) }, 'portal sign-in refused');
          return htmlReply(reply, loginPage(pre.csrf, { text: 'The login or password is not right.', error: true }), 401);
        }
        attempt.succeed();
      } finally {
        // A check that threw reached no answer: it is neither a failure nor held any longer.
        attempt.abandon();
      }
      // A new session id at sign-in: an id planted before it (session fixation) is worth nothing,
      // and a session signed in with the form's cookie before this ends.
      await this.sessions.destroy(pre.id);
      const s = await this.sessions.create(entry.id, { login: entry.login });
      setSessionCookie(reply, this.cookie(request), s.id);
      return reply.redirect('/now', 303);
    });

    app.post('/logout', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      await this.sessions.destroy(s.id);
      // At once on this gateway; another gateway's streams end at its next check.
      this.feed.closeSession(s.id);
      clearSessionCookie(reply, this.cookie(request));
      return reply.redirect('/login', 303);
    });

    app.get('/now', async (request, reply) => {
      const s = await this.signedIn(request);
      return htmlReply(reply, nowPage(signed(s), await this.view.currentSession(s.subject)));
    });

    app.get('/purchases', async (request, reply) => {
      const s = await this.signedIn(request);
      const account = await this.view.account(s.subject);
      const now = new Date();
      const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const statement = await this.view.statement(s.subject, from, Date.now() + 1);
      const done = (request.query as { done?: string }).done;
      const message = done === 'approved' ? 'Approved: the merchant has been told.' : done === 'declined' ? 'Declined: the merchant has been told.' : undefined;
      return htmlReply(reply, purchasesPage(signed(s), await this.view.purchases(s.subject), { currency: account.currency, ...statement }, message));
    });

    app.get('/purchases/events', async (request, reply) => {
      const s = await this.signedIn(request);
      reply.hijack();
      await this.feed.open(s.subject, s.id, s.csrf, reply.raw);
    });

    for (const answer of ['approve', 'decline'] as const) {
      app.post(`/purchases/:id/${answer}`, async (request, reply) => {
        const s = await this.signedIn(request);
        sameOrigin(request, s.csrf);
        const { id } = request.params as { id: string };
        await this.view.ownPurchase(s.subject, id);
        // An approval can end declined: a merchant_bill purchase whose release the subscriber withdrew meanwhile.
        const row = answer === 'approve' ? await lifecycle.approveBySubscriber(id) : await lifecycle.declineBySubscriber(id);
        return reply.redirect(`/purchases?done=${row.status === 'declined' ? 'declined' : 'approved'}`, 303);
      });
    }

    app.get('/settings', async (request, reply) => {
      const s = await this.signedIn(request);
      const saved = (request.query as { saved?: string }).saved;
      return htmlReply(reply, settingsPage(signed(s), await this.view.account(s.subject), await this.view.securePreferences(s.subject), saved ? 'Saved.' : undefined, await this.consents.list(s.subject)));
    });

    app.post('/settings/camara/:merchantId', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      const consent = formField(request, 'consent');
      if (consent !== 'on' && consent !== 'off') throw new SidebandError('REQUEST_INVALID', 'The phone number switch is on or off.', { param: 'consent' });
      const merchantId = (request.params as { merchantId: string }).merchantId;
      if (!(await this.consents.list(s.subject)).some((c) => c.merchantId === merchantId)) throw new SidebandError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}.`);
      await this.consents.set(s.subject, merchantId, consent === 'on');
      return reply.redirect('/settings?saved=1', 303);
    });

    app.post('/settings/auto-approve', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      const text = (formField(request, 'autoApproveLimit') ?? '').trim();
      if (text !== '' && !/^\d{1,12}$/.test(text)) throw new SidebandError('REQUEST_INVALID', 'The amount is a whole number of minor units (e.g. 2000 for 20.00), or empty to always be asked.', { param: 'autoApproveLimit' });
      await this.view.setAutoApprove(s.subject, text === '' ? null : Number(text));
      return reply.redirect('/settings?saved=1', 303);
    });

    app.post('/settings/secure/:merchantId', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      const mode = formField(request, 'mode');
      if (mode !== 'once' && mode !== 'on' && mode !== 'off') throw new SidebandError('REQUEST_INVALID', 'The secure switch is off, once (the next purchase) or on.', { param: 'mode' });
      await this.view.setSecure(s.subject, (request.params as { merchantId: string }).merchantId, mode);
      return reply.redirect('/settings?saved=1', 303);
    });

    app.get('/channel', async (request, reply) => {
      const s = await this.signedIn(request);
      const done = (request.query as { done?: string }).done;
      return htmlReply(reply, channelPage(signed(s), await this.view.exchanges(s.subject), done === 'ended' ? 'Ended.' : done === 'chosen' ? 'Your choice was recorded.' : undefined));
    });

    app.post('/channel/:id/end', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      const { id } = request.params as { id: string };
      await (await this.view.ownExchange(s.subject, id)).end(id);
      return reply.redirect('/channel?done=ended', 303);
    });

    app.post('/channel/:id/fallback', async (request, reply) => {
      const s = await this.signedIn(request);
      sameOrigin(request, s.csrf);
      const { id } = request.params as { id: string };
      const choice = formField(request, 'choice');
      if (choice !== 'internet' && choice !== 'abort') throw new SidebandError('REQUEST_INVALID', 'The choice is internet (conventional encrypted Internet) or abort.', { param: 'choice' });
      await (await this.view.ownExchange(s.subject, id)).fallback(id, choice);
      return reply.redirect('/channel?done=chosen', 303);
    });
  }

  async listen(): Promise<string> {
    const address = await this.app.listen({ host: this.deps.config.listen.host, port: this.deps.config.listen.portalHttp });
    return new URL(address).host;
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.feed.closeAll();
    await this.app.close();
  }
}
