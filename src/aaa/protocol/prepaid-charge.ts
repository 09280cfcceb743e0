/**
 * Prepaid time (the seed's TOKI_USER seconds remaining) is charged from the NAS's own
 * count, Acct-Session-Time (RFC 2866 §5.7), and each second once: a session carries what
 * it was charged so far, and every charge is the difference to a new total.
 */

/** A Stop reports the session's time: charge what it says beyond what was charged already. */
export const chargeAtStop = (sessionTime: number, alreadyCharged: number): number => Math.max(0, sessionTime - alreadyCharged);

export interface ChargeWithoutStop {
  /** Seconds to charge now. */
  charge: number;
  /** The session's charged total after this. */
  total: number;
  /** What bounded it: the NAS's last reported session time, or the Session-Timeout it was granted. */
  basis: 'reported' | 'session-timeout';
}

/**
 * A session closed without its Stop (the sweeper, Accounting-On, an address taken by
 * another session) is charged no more than it could have used: the longest session time
 * the NAS reported (its last Interim-Update), and never past the Session-Timeout granted
 * in the Access-Accept — the NAS ends a session there (RFC 2865 §5.27). Guessing from the
 * clock would bill a session whose NAS went silent for hours it may never have had.
 */
export function chargeWithoutStop(input: { reported: number; sessionTimeout: number | null; alreadyCharged: number }): ChargeWithoutStop {
  const capped = input.sessionTimeout !== null && input.sessionTimeout < input.reported;
  const total = Math.max(input.alreadyCharged, capped ? input.sessionTimeout! : input.reported);
  return { charge: total - input.alreadyCharged, total, basis: capped ? 'session-timeout' : 'reported' };
}

/** The sweeper's Acct-Terminate-Cause: that it closed the session, and what it charged on what grounds. */
export function staleTerminateCause(c: ChargeWithoutStop): string {
  if (c.total === 0) return 'Sideband-Stale (charged 0 s: no session time reported)';
  return c.basis === 'session-timeout' ? `Sideband-Stale (charged ${c.total} s: the Session-Timeout)` : `Sideband-Stale (charged ${c.total} s: the last reported session time)`;
}
