/**
 * What an open session must be told when its subscriber's prepaid seconds change under it
 * (an operator sets fewer, or another session's Stop used them up). The session was granted
 * a Session-Timeout at its Access-Accept (RFC 2865 §5.27) and is charged only at its Stop
 * (`prepaid-charge.ts`), so while it runs it may last `secondsRemaining` in all.
 */
export type PrepaidLimitAction =
  | { action: 'none' }
  /** RFC 5176 §3.2: a CoA-Request carrying a new Session-Timeout, seconds from now. */
  | { action: 'coa'; sessionTimeout: number }
  /** RFC 5176 §3.1: nothing left; a Disconnect-Request. */
  | { action: 'disconnect' };

export interface PrepaidLimitInput {
  /** The subscriber's uncharged prepaid seconds now; null means unlimited. */
  secondsRemaining: number | null;
  /** The Session-Timeout the session was granted, or null for none. */
  sessionTimeout: number | null;
  /** Seconds the session has run so far (from its start, else its authorization, to now). */
  elapsed: number;
}

/**
 * The new Session-Timeout is sent as the seconds *left from now*. NASes differ on whether
 * a CoA's Session-Timeout counts from the session's start or from the CoA; counted from
 * the CoA it is exact, counted from the start it ends the session early. Either way the
 * session never lasts longer than the seconds it has. Only less time is ever sent: a CoA
 * is a correction the NAS may NAK, and more time can wait for the next log-in.
 *
 * @example
 * prepaidLimitAction({ secondsRemaining: 600, sessionTimeout: 3600, elapsed: 120 }); // { action: 'coa', sessionTimeout: 480 }
 */
export function prepaidLimitAction(input: PrepaidLimitInput): PrepaidLimitAction {
  const { secondsRemaining, sessionTimeout, elapsed } = input;
  if (secondsRemaining === null) return { action: 'none' };
  if (sessionTimeout !== null && secondsRemaining >= sessionTimeout) return { action: 'none' };
  const left = secondsRemaining - Math.max(0, Math.floor(elapsed));
  if (left <= 0) return { action: 'disconnect' };
  return { action: 'coa', sessionTimeout: left };
}
