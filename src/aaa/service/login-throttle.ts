/**
 * Counts failed log-ins per login in a sliding window. Bounded: when more logins than
 * `maxLogins` have recent failures, the oldest are forgotten, so a flood of invented
 * logins cannot exhaust memory.
 */
export class LoginThrottle {
  private failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxLogins = 100_000,
  ) {}

  blocked(login: string, now = Date.now()): boolean {
    const times = this.failures.get(login);
    if (!times) return false;
    const recent = times.filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(login);
    else this.failures.set(login, recent);
    return recent.length >= this.maxFailures;
  }

  fail(login: string, now = Date.now()): void {
    const times = this.failures.get(login) ?? [];
    times.push(now);
    if (times.length > this.maxFailures) times.shift();
    this.failures.delete(login);
    this.failures.set(login, times);
    if (this.failures.size > this.maxLogins) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(login: string): void {
    this.failures.delete(login);
  }
}
