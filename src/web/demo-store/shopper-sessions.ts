import { randomBytes } from 'node:crypto';

/** A shopper's browser: its CSRF token and whatever the store keeps for it. */
export interface ShopperSession<T> {
  readonly id: string;
  /** Sent in every form as `_csrf`; checked against this, never against a cookie. */
  readonly csrf: string;
  data: T;
  lastSeen: number;
}

/**
 * The demo store's browser sessions, in its own memory: the store is a merchant's app, not
 * the provider's, so it keeps nothing in the gateway's database (the portal and console
 * keep theirs there: src/web/web-session-store.ts). A 256-bit random id in an HttpOnly
 * cookie names one. A session unused for `idleMs` is gone; past `maxEntries` the least
 * recently used is dropped, so a flood of page views cannot exhaust memory.
 */
export class ShopperSessions<T> {
  private readonly sessions = new Map<string, ShopperSession<T>>();

  constructor(
    private readonly idleMs: number,
    private readonly maxEntries: number,
  ) {}

  create(data: T, now = Date.now()): ShopperSession<T> {
    const session: ShopperSession<T> = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), data, lastSeen: now };
    this.sessions.set(session.id, session);
    if (this.sessions.size > this.maxEntries) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  get(id: string | undefined, now = Date.now()): ShopperSession<T> | null {
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
}
