/**
 * What failed log-ins are counted by: the login on one NAS and, where the NAS sends it,
 * one Calling-Station-Id. Counting by login alone would let anybody lock a subscriber out
 * by failing log-ins under that name from another NAS or another line.
 */
export const throttleKey = (login: string, nasId: string, callingStationId: string | null): string => `${login}\u0000${nasId}\u0000${callingStationId ?? ''}`;

/**
 * Counts failed log-ins per key (see {@link throttleKey}) in a sliding window. Bounded:
 * when more keys than `maxKeys` have recent failures, the oldest are forgotten, so a
 * flood of invented logins cannot exhaust memory.
 */
export class LoginThrottle {
  private failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  blocked(key: string, now = Date.now()): boolean {
    const times = this.failures.get(key);
    if (!times) return false;
    const recent = times.filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent.length >= this.maxFailures;
  }

  fail(key: string, now = Date.now()): void {
    const times = this.failures.get(key) ?? [];
    times.push(now);
    if (times.length > this.maxFailures) times.shift();
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
