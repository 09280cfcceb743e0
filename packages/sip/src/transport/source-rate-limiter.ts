interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per source address: each message takes a token, tokens come back at
 * `perSecond` up to `burst`. The table is bounded: past `maxSources` the address heard from
 * least recently is forgotten, which only gives it a full bucket again, so a flood from
 * many (spoofed) addresses costs memory up to the bound and takes nothing from anyone else.
 */
export class SourceRateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxSources = 65_536,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for one message from `address`; false when it has none left. */
  take(address: string): boolean {
    const now = this.now();
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: now };
    } else {
      // Re-inserted below, so that the map stays in order of last use.
      this.#buckets.delete(address);
      bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.at) * this.perSecond) / 1000);
      bucket.at = now;
    }
    this.#buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
