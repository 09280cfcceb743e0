/** One log-in attempt, as the throttle counts it. */
export interface LoginAttempt {
  login: string;
  nasId: string;
  /** Calling-Station-Id, where the NAS sends it. */
  callingStationId: string | null;
}

/** Failures per key in a sliding window, for at most `maxKeys` keys (the oldest are forgotten). */
class FailureWindow {
  private failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  reached(key: string, now: number): boolean {
    const times = this.failures.get(key);
    if (!times) return false;
    const recent = times.filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent.length >= this.limit;
  }

  add(key: string, now: number): void {
    const times = this.failures.get(key) ?? [];
    times.push(now);
    if (times.length > this.limit) times.shift();
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * Counts failed log-ins in a sliding window, two ways:
 *
 * - per login, NAS and Calling-Station-Id, up to `maxFailures`: a subscriber mistyping on
 *   their own line is held back, and failures under their name on another NAS or from
 *   another line do not lock them out;
 * - per login and NAS across every calling station, up to `maxFailuresPerLogin` (higher):
 *   Calling-Station-Id is the NAS's word for where a request comes from and, on many
 *   access methods, chosen by the client, so someone guessing one subscriber's password
 *   would otherwise get a fresh count by changing it. The price: while someone guesses
 *   hard enough to reach this count, the subscriber is refused on that NAS too, for the
 *   window; a success from one station does not reset it, or a guesser could have the
 *   subscriber's own log-ins restore their guesses.
 *
 * Bounded: when more keys than `maxKeys` have recent failures, the oldest are forgotten,
 * so a flood of invented logins cannot exhaust memory.
 */
export class LoginThrottle {
  private readonly byStation: FailureWindow;
  private readonly byLogin: FailureWindow;

  constructor(maxFailures: number, windowMs: number, maxFailuresPerLogin: number, maxKeys = 100_000) {
    this.byStation = new FailureWindow(maxFailures, windowMs, maxKeys);
    this.byLogin = new FailureWindow(maxFailuresPerLogin, windowMs, maxKeys);
  }

  blocked(a: LoginAttempt, now = Date.now()): boolean {
    // Both are looked at, so that each forgets its expired failures.
    const station = this.byStation.reached(stationKey(a), now);
    const login = this.byLogin.reached(loginKey(a), now);
    return station || login;
  }

  fail(a: LoginAttempt, now = Date.now()): void {
    this.byStation.add(stationKey(a), now);
    this.byLogin.add(loginKey(a), now);
  }

  succeed(a: LoginAttempt): void {
    this.byStation.clear(stationKey(a));
  }
}

const loginKey = (a: LoginAttempt): string => `${a.login}\u0000${a.nasId}`;
const stationKey = (a: LoginAttempt): string => `${loginKey(a)}\u0000${a.callingStationId ?? ''}`;
