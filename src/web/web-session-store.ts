import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, seal } from '../vault/envelope.ts';
import type { Kysely } from 'kysely';
import type { MasterKey } from '../vault/keyring.ts';
import type { Store } from '../store/open-store.ts';
import type { Database, WebSessionTable } from '../store/schema.ts';

export type WebSite = WebSessionTable['site'];

/** A signed-in browser, or one at the log-in form: its CSRF token, whose it is, and what the site keeps for it. */
export interface StoredWebSession<T> {
  readonly id: string;
  /** Sent in every form as `_csrf`; checked against this, never against a cookie. */
  readonly csrf: string;
  /** The subscriber's id or the operator's name; null at the log-in form. */
  readonly subject: string | null;
  readonly data: T;
}

export interface WebSessionPolicy {
  /** A session unused this long is gone. */
  idleMs: number;
  /** Sessions one subject may hold; a new one past it ends the least recently used. */
  perSubject: number;
}

/**
 * The keyring as the log-in form needs it: the key to sign with, and the keys it holds now
 * to check with (`ids` reads no file: a forged token naming an unknown key costs no disk read).
 */
export interface FormKeys {
  readonly active: MasterKey;
  readonly ids: readonly string[];
  get(id: string): MasterKey;
}

/** A log-in form shown longer ago than this is refused (WEB_FORM_FORGED: reload the page). */
export const LOGIN_FORM_LIFETIME_MS = 60 * 60_000;

/** The session id names its row only through this: the table never holds an id a cookie could carry. */
const idHash = (id: string): string => createHash('sha256').update(id).digest('base64url');

/**
 * The data's key is derived from the session id (HKDF-SHA256): only a request carrying the
 * cookie can open it. Sealed as the vault seals (envelope.ts: AES-256-GCM, a fresh nonce per
 * write); the row's hash is the associated data, so a sealed value cannot be moved to another row.
 */
function dataKey(id: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(id), Buffer.alloc(0), 'sideband web session data', 32));
}

function sealData(id: string, data: unknown): string {
  return seal(dataKey(id), Buffer.from(JSON.stringify(data), 'utf8'), idHash(id));
}

function openData<T>(id: string, text: string): T | null {
  try {
    return JSON.parse(open(dataKey(id), text, idHash(id)).toString('utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * Browser sessions of one site, in the store (table `web_sessions`, migration 0014), so
 * that every gateway sharing the database serves them: a 256-bit random id in an HttpOnly
 * cookie names one; nothing about the subscriber or operator is in the cookie, and the
 * table keeps only the id's hash. Each request reads the row, so a log-out on one gateway
 * is a log-out on all. The last use is written back at most every `touchMs`, not on every
 * page; expired rows are deleted by `pruneWebSessions` on the job-lease holder.
 *
 * Only a signed-in browser has a row. The log-in form's session is stored nowhere — anybody
 * can ask for the form, and each ask used to write a row. Its CSRF token (a signed
 * double-submit cookie) is `keyId.issuedAt.mac`: an HMAC of the site, the cookie's id and
 * the time it was shown, under a key derived (HKDF) from the master key `keyId` names, so
 * that a page on another site can neither read nor forge it, every gateway holding the
 * keyring checks it (after a rotation too, while the old key is kept), and it lapses after
 * LOGIN_FORM_LIFETIME_MS. The same-origin check still applies.
 */
export class WebSessionStore<T> {
  private readonly touchMs: number;
  /** Form keys derived so far, by master key id: as many as the keyring has held. */
  private readonly formKeys = new Map<string, Buffer>();

  constructor(
    private readonly store: Store,
    private readonly site: WebSite,
    private readonly policy: WebSessionPolicy,
    /** The keys the log-in form is signed with, and the data its session carries. */
    private readonly form: { keys: FormKeys; data: T },
  ) {
    this.touchMs = Math.min(60_000, Math.floor(policy.idleMs / 10));
  }

  /** A signed-in session; past `perSubject` of the subject's, the least recently used are ended. */
  async create(subject: string, data: T, now = Date.now()): Promise<StoredWebSession<T>> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    await this.store.db.insertInto('web_sessions').values({ id_hash: idHash(id), site: this.site, subject, csrf, data: sealData(id, data), created_at: now, last_seen: now, expires_at: now + this.policy.idleMs }).execute();
    const rows = await this.store.db.selectFrom('web_sessions').select('id_hash').where('site', '=', this.site).where('subject', '=', subject).orderBy('last_seen', 'desc').orderBy('created_at', 'desc').execute();
    const surplus = rows.slice(this.policy.perSubject).map((r) => r.id_hash).filter((h) => h !== idHash(id));
    if (surplus.length > 0) await this.store.db.deleteFrom('web_sessions').where('id_hash', 'in', surplus).execute();
    return { id, csrf, subject, data };
  }

  /**
   * The log-in form's session for the cookie's id (a new id without a usable one): written
   * nowhere, with a token signed under the active master key now.
   */
  formSession(cookie?: string, now = Date.now()): StoredWebSession<T> {
    const id = cookie && /^[\w-]{16,128}$/.test(cookie) ? cookie : randomBytes(32).toString('base64url');
    const { id: keyId } = this.form.keys.active;
    const issued = Math.floor(now / 1000);
    return { id, csrf: `${keyId}.${issued}.${this.formMac(keyId, id, issued)}`, subject: null, data: this.form.data };
  }

  /** `given` when it is a token `formSession` made for this cookie within the form's lifetime, else undefined. */
  formToken(cookie: string | undefined, given: string | undefined, now = Date.now()): string | undefined {
    if (!cookie || !given || given.length > 256) return undefined;
    const [keyId, issuedText, mac, extra] = given.split('.');
    if (!keyId || !issuedText || !mac || extra !== undefined || !/^\d{1,12}$/.test(issuedText)) return undefined;
    const issued = Number(issuedText);
    const age = now - issued * 1000;
    if (age < -60_000 || age > LOGIN_FORM_LIFETIME_MS || !this.form.keys.ids.includes(keyId)) return undefined;
    const expected = Buffer.from(this.formMac(keyId, cookie, issued));
    const got = Buffer.from(mac);
    return got.length === expected.length && timingSafeEqual(got, expected) ? given : undefined;
  }

  private formMac(keyId: string, id: string, issued: number): string {
    let key = this.formKeys.get(keyId);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.form.keys.get(keyId).key, Buffer.alloc(0), `sideband web login form ${this.site}`, 32));
      this.formKeys.set(keyId, key);
    }
    return createHmac('sha256', key).update(`${this.site}|${id}|${issued}`).digest('base64url');
  }

  /** The session the cookie names, if it is this site's and not idle too long; its last use is recorded. */
  async get(id: string | undefined, now = Date.now()): Promise<StoredWebSession<T> | null> {
    if (!id || id.length > 128) return null;
    const hash = idHash(id);
    const row = await this.store.db.selectFrom('web_sessions').selectAll().where('id_hash', '=', hash).where('site', '=', this.site).executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return null;
    const data = openData<T>(id, row.data);
    if (data === null) return null;
    if (now - Number(row.last_seen) >= this.touchMs) {
      await this.store.db.updateTable('web_sessions').set({ last_seen: now, expires_at: now + this.policy.idleMs }).where('id_hash', '=', hash).execute();
    }
    return { id, csrf: row.csrf, subject: row.subject, data };
  }

  /**
   * Whether the session stands, signed in as `subject`, without counting as its use: a
   * page left open (the live Purchases feed asks every second) must not keep it from idling out.
   */
  async stands(id: string, subject: string, now = Date.now()): Promise<boolean> {
    const row = await this.store.db.selectFrom('web_sessions').select(['subject', 'expires_at']).where('id_hash', '=', idHash(id)).where('site', '=', this.site).executeTakeFirst();
    return row !== undefined && row.subject === subject && Number(row.expires_at) > now;
  }

  async destroy(id: string): Promise<void> {
    await this.store.db.deleteFrom('web_sessions').where('id_hash', '=', idHash(id)).execute();
  }
}

/**
 * Ends every session of one subject on a site (e.g. all of a subscriber's when suspended);
 * takes a transaction, so it can commit with the change that calls for it.
 */
export async function endWebSessions(db: Kysely<Database>, site: WebSite, subject: string): Promise<number> {
  const r = await db.deleteFrom('web_sessions').where('site', '=', site).where('subject', '=', subject).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes every site's sessions idle past their time; run by one gateway at a time (job lease `web-session-prune`). */
export async function pruneWebSessions(store: Store, now = Date.now()): Promise<number> {
  const r = await store.db.deleteFrom('web_sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
