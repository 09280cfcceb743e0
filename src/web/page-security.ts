import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SidebandError } from '../errors/sideband-error.ts';
import type { TrustedProxies } from '../gateway/trusted-proxies.ts';

/**
 * Only this site's own script, styles and images; no inline script or style, no framing,
 * forms post only here. The pages need nothing else, so the policy can be this strict.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Headers every page and asset of a site carries (registered inside the site's plugin,
 * so the operator API's JSON routes beside the console keep theirs). Pages are never
 * cached: they show a subscriber's or an operator's data.
 */
export function securePages(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}

/** `application/x-www-form-urlencoded` bodies as a flat record (the last of repeated names wins). */
export function parseForms(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

export function formField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body as Record<string, unknown> | undefined;
  const value = body && typeof body === 'object' ? body[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * A form post must come from one of our own pages: the browser's Fetch Metadata says so
 * (`Sec-Fetch-Site: same-origin`; a page on another port of the same host is "same-site",
 * and refused), its `Origin`, when it names one, is the origin the browser addressed (behind a TLS
 * proxy, as the trusted proxy reports it: `https://…` although the socket is plain), and it
 * carries the session's CSRF token. Any one would stop a forged form in today's browsers;
 * the token also covers clients that send neither header.
 */
export function assertSameOriginForm(request: FastifyRequest, csrf: string | undefined, proxies: TrustedProxies): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new SidebandError('WEB_FORM_FORGED', `A form posted from another site (${String(site)}) was refused.`);
  const from = request.headers.origin;
  // Our pages' `Referrer-Policy: no-referrer` makes a browser send `Origin: null` with their
  // own forms (Fetch, "serialize a request origin"): null tells nothing, either way.
  if (from !== undefined && from !== 'null') {
    const own = proxies.origin(request);
    if (from !== own) throw new SidebandError('WEB_FORM_FORGED', `A form posted from ${from} to ${own ?? 'an unnamed origin'} was refused.`);
  }
  const given = formField(request, '_csrf');
  if (!csrf || !given || given.length !== csrf.length || !timingSafeEqual(Buffer.from(given), Buffer.from(csrf))) {
    throw new SidebandError('WEB_FORM_FORGED', 'The form carried no valid CSRF token; reload the page and try again.');
  }
}

export interface CookieOptions {
  name: string;
  path: string;
  /** Set when the request arrived over TLS: the browser then sends the cookie only over TLS. */
  secure: boolean;
}

/** A site's session cookie for this request: Secure when the browser reached the site over TLS, directly or through a trusted proxy. */
export function sessionCookie(request: FastifyRequest, proxies: TrustedProxies, name: string, path: string): CookieOptions {
  return { name, path, secure: proxies.protocol(request) === 'https' };
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function setSessionCookie(reply: FastifyReply, cookie: CookieOptions, value: string): void {
  reply.header('set-cookie', `${cookie.name}=${value}; Path=${cookie.path}; HttpOnly; SameSite=Strict${cookie.secure ? '; Secure' : ''}`);
}

export function clearSessionCookie(reply: FastifyReply, cookie: CookieOptions): void {
  reply.header('set-cookie', `${cookie.name}=; Path=${cookie.path}; HttpOnly; SameSite=Strict; Max-Age=0${cookie.secure ? '; Secure' : ''}`);
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
