import { verifyPassword } from '../../core/identity/password-hash.ts';
import type { Store } from '../../store/open-store.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import type { SubscriberStatus, SubscriberTable } from '../../store/schema.ts';
import type { Vault } from '../../vault/vault.ts';
import { spendingExhausted } from './dynamic-authorization-queue.ts';

export interface SubscriberEntry {
  id: string;
  login: string;
  status: SubscriberStatus;
  secondsRemaining: number | null;
  /** The spending rule says 0 (`--spent-session-seconds 0`) and the limit is spent: no session now. */
  spendingExhausted: boolean;
  passwordHash: string;
  chapRecordId: string | null;
  loadedAt: number;
}

/** Every Access-Request whose subscriber is not cached reads this. */
const subscriberByLogin = new PreparedStatement<Pick<SubscriberTable, 'id' | 'login' | 'status' | 'seconds_remaining' | 'password_hash' | 'chap_record_id' | 'amount_used' | 'spending_limit' | 'spent_session_seconds'>>(
  'select id, login, status, seconds_remaining, password_hash, chap_record_id, amount_used, spending_limit, spent_session_seconds from subscribers where login = ?',
);

/**
 * Subscribers as RADIUS sees them, cached for `ttlMs` so that a burst of log-ins does not
 * read the same row each time; a suspension made by another process takes effect within
 * the TTL. The password for PAP and CHAP is opened from the vault once per subscriber and
 * kept in memory (as FreeRADIUS keeps Cleartext-Password), because CHAP (RFC 1994) needs it
 * in clear and scrypt per request would cap log-ins at a few hundred a second.
 */
export class SubscriberDirectory {
  private entries = new Map<string, SubscriberEntry | null>();
  private passwords = new Map<string, Buffer>();
  private loginOf = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 500_000,
  ) {}

  async get(login: string, now = Date.now()): Promise<SubscriberEntry | null> {
    const cached = this.entries.get(login);
    if (cached !== undefined && (cached === null ? false : now - cached.loadedAt < this.ttlMs)) return cached;
    const row = await subscriberByLogin.first(this.store.db, this.store.dialect, [login]);
    const entry = row ? { id: row.id, login: row.login, status: row.status, secondsRemaining: row.seconds_remaining,
      spendingExhausted: row.spent_session_seconds !== null && Number(row.spent_session_seconds) === 0 && spendingExhausted(row), passwordHash: row.password_hash, chapRecordId: row.chap_record_id, loadedAt: now } : null;
    if (this.entries.size >= this.maxEntries) {
      this.entries.clear();
      this.loginOf.clear();
    }
    if (entry) {
      this.entries.set(login, entry);
      this.loginOf.set(entry.id, login);
    }
    if (cached && entry && cached.passwordHash !== entry.passwordHash) this.passwords.delete(entry.id);
    return entry;
  }

  /** The cleartext password, from the vault, or null when only a hash is on file. */
  async password(entry: SubscriberEntry): Promise<Buffer | null> {
    const known = this.passwords.get(entry.id);
    if (known) return known;
    if (!entry.chapRecordId) return null;
    const { password } = await this.vault.open<{ password: string }>(entry.chapRecordId, 'radius-chap', 'radius');
    const buf = Buffer.from(password, 'utf8');
    if (this.passwords.size >= this.maxEntries) this.passwords.clear();
    this.passwords.set(entry.id, buf);
    return buf;
  }

  /** PAP against the scrypt hash, for subscribers without a sealed password. */
  verifyHash(entry: SubscriberEntry, password: string): Promise<boolean> {
    return verifyPassword(password, entry.passwordHash);
  }

  forget(login: string): void {
    this.entries.delete(login);
  }

  /**
   * Another process changed this subscriber (suspended, closed, a new password): the next
   * log-in reads the row again instead of waiting out the TTL.
   */
  forgetSubscriber(id: string): void {
    const login = this.loginOf.get(id);
    if (login !== undefined) this.entries.delete(login);
    this.loginOf.delete(id);
    this.passwords.delete(id);
  }

  /** Forgets everything: after notifications may have been missed. */
  clear(): void {
    this.entries.clear();
    this.loginOf.clear();
    this.passwords.clear();
  }
}
