/**
 * How a call attempt ended, as the exchange's call detail records and the calls counter
 * name it. Stable strings.
 */
export type CallOutcome =
  | 'answered'
  /** 404, 484, 604: no such number (RFC 3261 §21.4.5, §21.4.22, §21.6.4). */
  | 'not-found'
  /** 486, 600 (RFC 3261 §21.4.24, §21.6.1). */
  | 'busy'
  /** 408, 480: nobody answered in time, or the callee could not be reached. */
  | 'no-answer'
  /** 487 after a CANCEL (RFC 3261 §9). */
  | 'cancelled'
  /** 403: the caller may not place this call. */
  | 'forbidden'
  /** 401/407 that the caller's credentials did not satisfy. */
  | 'unauthenticated'
  /** No response at all, or a transport error (RFC 3261 §8.1.3.1). */
  | 'unreachable'
  | 'server-error'
  /** Any other 3xx-6xx (488, 603, ...). */
  | 'rejected';

export function outcomeOfStatus(status: number): CallOutcome {
  if (status >= 200 && status < 300) return 'answered';
  switch (status) {
    case 404:
    case 484:
    case 604:
      return 'not-found';
    case 486:
    case 600:
      return 'busy';
    case 408:
    case 480:
      return 'no-answer';
    case 487:
      return 'cancelled';
    case 403:
      return 'forbidden';
    case 401:
    case 407:
      return 'unauthenticated';
    default:
      return status >= 500 && status < 600 ? 'server-error' : 'rejected';
  }
}
