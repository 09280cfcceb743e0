import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Store } from './open-store.ts';

/** The file in a gateway's data directory naming the holder of the leases it takes. */
export const LEASE_HOLDER_FILE = 'lease-holder';

/** Who holds a lease: enough for an operator to find the process. */
export const leaseHolderName = (): string => `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;

/**
 * Jobs that must run once across every gateway sharing the database (the stale-session
 * sweep, authorization expiry, webhook delivery, the acquirer outbox's retries…): each is
 * run only by the holder of its lease in `job_leases`. The holder renews it when half its
 * time is gone; a gateway that dies stops renewing, and the first survivor to try after
 * it lapses takes the job over. A stopping gateway gives its leases back at once.
 *
 * Taking or renewing is one conditional upsert, so two gateways trying at the same moment
 * cannot both win. Times are the gateways' clocks: keep their clocks in step (NTP) well
 * within a lease's length.
 */
export class JobLeases {
  /** Lease → until when this process holds it, as last written. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly store: Store,
    readonly holder: string = leaseHolderName(),
  ) {}

  /**
   * Runs `job` when this process holds the lease `name` (taking or renewing it for
   * `ttlMs`); otherwise does nothing and returns undefined.
   */
  async run<T>(name: string, ttlMs: number, job: () => Promise<T>, now = Date.now()): Promise<T | undefined> {
    if (!(await this.hold(name, ttlMs, now))) return undefined;
    return job();
  }

  /** Takes or renews the lease; true when this process holds it until at least now + ttlMs / 2. */
  async hold(name: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const until = this.held.get(name);
    if (until !== undefined && until - now > ttlMs / 2) return true;
    const expiresAt = now + ttlMs;
    const r = await this.store.db
      .insertInto('job_leases')
      .values({ name, holder: this.holder, acquired_at: now, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet((eb) => ({
            // A renewal keeps when it was first taken.
            acquired_at: eb.case().when('job_leases.holder', '=', this.holder).then(eb.ref('job_leases.acquired_at')).else(now).end(),
            holder: this.holder,
            expires_at: expiresAt,
          }))
          .where((eb) => eb.or([eb('job_leases.holder', '=', this.holder), eb('job_leases.expires_at', '<=', now)])),
      )
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 1) {
      this.held.set(name, expiresAt);
      return true;
    }
    this.held.delete(name);
    return false;
  }

  /** Who holds each lease now (operators, tests). */
  async list(): Promise<Array<{ name: string; holder: string; acquiredAt: number; expiresAt: number }>> {
    const rows = await this.store.db.selectFrom('job_leases').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, holder: r.holder, acquiredAt: r.acquired_at, expiresAt: r.expires_at }));
  }

  /**
   * Takes over the leases the gateway before this one on `dataDir` held, and names this
   * process there for the next. The caller holds the directory's lock
   * (gateway/data-directory-lock.ts), so the process named there is dead; its leases would
   * otherwise keep what it held from its successor for their length (a restart after a
   * crash was refused the channel's numbers for a minute, and a service manager gave up).
   * Returns how many. Holder names stay random: a name alone proves nothing about another
   * host or container.
   */
  async takeOverPredecessor(dataDir: string): Promise<number> {
    const file = join(dataDir, LEASE_HOLDER_FILE);
    const before = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    writeFileSync(file, `${this.holder}\n`, { mode: 0o600 });
    if (!before || before === this.holder) return 0;
    const r = await this.store.db.updateTable('job_leases').set({ holder: this.holder }).where('holder', '=', before).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Gives back every lease this process holds, so a survivor need not wait for them to lapse. */
  async releaseAll(): Promise<void> {
    this.held.clear();
    await this.store.db.deleteFrom('job_leases').where('holder', '=', this.holder).execute();
  }
}
