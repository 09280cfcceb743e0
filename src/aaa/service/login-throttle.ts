import { OldestFirst } from '../../core/memory/oldest-first.ts';

/** One log-in attempt, as the throttle counts it. */
export interface LoginAttempt {
  login: string;
  nasId: string;
  /** Calling-Station-Id, where the NAS sends it. */
  callingStationId: string | null;
}

/** An attempt `LoginThrottle.admit` let through; the first of these calls settles it, later ones do nothing. */
export interface AdmittedAttempt {
  /** The credentials were wrong: counted as a failure. */
  fail(now?: number): void;
  succeed(): void;
  /** No answer was reached (the check itself failed): neither counted nor held any longer. */
  abandon(): void;
}

/**
 * Failures per key in a sliding window, for at most `maxKeys` keys (the oldest are forgotten),
 * plus the attempts admitted and not yet settled, which count against the limit as failures
 * until they are.
 */
class FailureWindow {
  private failures = new OldestFirst<string, number[]>();
  private inFlight = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  reached(key: string, now: number): boolean {
    const times = this.failures.get(key) ?? [];
    const recent = times.filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent.length + (this.inFlight.get(key) ?? 0) >= this.limit;
  }

  hold(key: string): void {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  release(key: string): void {
    const n = (this.inFlight.get(key) ?? 0) - 1;
    if (n > 0) this.inFlight.set(key, n);
    else this.inFlight.delete(key);
  }

  add(key: string, now: number): void {
    const times = this.failures.get(key) ?? [];
    times.push(now);
    if (times.length > this.limit) times.shift();
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) this.failures.deleteOldest();
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
 * so a flood of invented logins cannot exhaust memory. Attempts in flight (`admit`) are
 * bounded by the requests being served.
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

  /**
   * Lets an attempt be checked, or null when `blocked`; an admitted attempt counts as a
   * failure until it is settled. With `blocked` then `fail` after an await in between,
   * guesses sent together would all pass `blocked` before the first of them failed.
   */
  admit(a: LoginAttempt, now = Date.now()): AdmittedAttempt | null {
    if (this.blocked(a, now)) return null;
    const station = stationKey(a);
    const login = loginKey(a);
    this.byStation.hold(station);
    this.byLogin.hold(login);
    let open = true;
    const settle = (): boolean => {
      if (!open) return false;
      open = false;
      this.byStation.release(station);
      this.byLogin.release(login);
      return true;
    };
    return {
      fail: (at = Date.now()) => {
        if (settle()) this.fail(a, at);
      },
      succeed: () => {
        if (settle()) this.succeed(a);
      },
      abandon: () => {
        settle();
      },
    };
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
