import { OldestFirst } from '../../core/memory/oldest-first.ts';

interface Snapshot {
  readonly ids: ReadonlySet<string>;
  /** When the read began: a key added after it may be missing from `ids`. */
  readonly loadedAt: number;
}

/**
 * Key ids recently found not to exist, so that forged requests naming made-up key ids do
 * not each cost a store query. Two tiers, both forgetting within `ttlMs`:
 *
 * - each id looked up and not found is remembered as a miss (a bounded map, oldest out);
 * - while many different ids miss at once (`floodThreshold` within `ttlMs`: someone is
 *   trying random ids), ids are checked against a snapshot of every registered key id,
 *   loaded at most once per `ttlMs`, instead of one query each.
 *
 * The price, documented in docs/merchant-api.md: a key id is refused for at most `ttlMs`
 * after it is added, if it was tried before it existed or while a flood is going on.
 * Only absence is remembered; an existing key's status is read from the store on every
 * request, so a revocation takes effect at once.
 */
export class UnknownKeyIds {
  /** Key id → when its miss is forgotten; insertion order is nearly expiry order (one ttl for all). */
  private readonly misses = new OldestFirst<string, number>();
  private snapshot: Snapshot | null = null;
  private loading: Promise<Snapshot> | null = null;

  constructor(
    private readonly loadKnownIds: () => Promise<Iterable<string>>,
    private readonly ttlMs = 3000,
    private readonly maxEntries = 10_000,
    private readonly floodThreshold = 100,
  ) {}

  /** True when keyId is known not to exist, without asking the store for it alone. */
  async isUnknown(keyId: string, now: number): Promise<boolean> {
    this.forgetExpired(now);
    // Concurrent requests remember with slightly different clocks, so the order is only
    // nearly by expiry: each entry's own time decides.
    const until = this.misses.get(keyId);
    if (until !== undefined && until > now) return true;
    if (this.misses.size < this.floodThreshold) return false;
    const snapshot = await this.knownIds(now);
    if (snapshot.ids.has(keyId)) return false;
    // Remembered only as long as the snapshot that refused it is believed: a miss lasts
    // ttlMs from the store read behind it, never from a later refusal.
    this.remember(keyId, snapshot.loadedAt);
    return true;
  }

  /** Forgets every miss and the snapshot: a key was added. */
  forget(): void {
    this.misses.clear();
    this.snapshot = null;
  }

  /** Records that keyId was not found by a store read made at `readAt`. */
  remember(keyId: string, readAt: number): void {
    this.misses.delete(keyId);
    if (this.misses.size >= this.maxEntries) this.misses.deleteOldest();
    this.misses.set(keyId, readAt + this.ttlMs);
  }

  private forgetExpired(now: number): void {
    for (let e = this.misses.oldest(); e && e.value <= now; e = this.misses.oldest()) this.misses.deleteOldest();
  }

  private async knownIds(now: number): Promise<Snapshot> {
    if (this.snapshot && now - this.snapshot.loadedAt < this.ttlMs) return this.snapshot;
    // One load for all the requests that find the snapshot stale at the same moment.
    this.loading ??= this.loadKnownIds()
      .then((ids) => {
        this.snapshot = { ids: new Set(ids), loadedAt: now };
        return this.snapshot;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
