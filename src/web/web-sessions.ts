import { randomBytes } from 'node:crypto';

/** A signed-in (or about-to-sign-in) browser: its CSRF token and whatever the site keeps for it. */
export interface WebSession<T> {
  readonly id: string;
  /** Sent in every form as `_csrf`; checked against this, never against a cookie. */
  readonly csrf: string;
  data: T;
  lastSeen: number;
}

/**
 * Browser sessions of one site, in this process's memory: a 256-bit random id in an
 * HttpOnly cookie names one; nothing about the subscriber or operator is in the cookie.
 * A session unused for `idleMs` is gone; past `maxEntries` the least recently used is
 * dropped, so a flood of log-in page views cannot exhaust memory. Several gateways behind
 * one name need sticky routing for these pages (README, "Web pages").
 */
export class WebSessions<T> {
  private readonly sessions = new Map<string, WebSession<T>>();

  constructor(
    private readonly idleMs = 30 * 60_000,
    private readonly maxEntries = 50_000,
  ) {}

  create(data: T, now = Date.now()): WebSession<T> {
    const session: WebSession<T> = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), data, lastSeen: now };
    this.sessions.set(session.id, session);
    if (this.sessions.size > this.maxEntries) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  get(id: string | undefined, now = Date.now()): WebSession<T> | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (now - session.lastSeen > this.idleMs) {
      this.sessions.delete(id);
      return null;
    }
    session.lastSeen = now;
    // Most recently used last, so that the first key is the one to drop.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session whose data matches, e.g. all of one subscriber's. */
  destroyWhere(match: (data: T) => boolean): void {
    for (const [id, s] of this.sessions) if (match(s.data)) this.sessions.delete(id);
  }
}
