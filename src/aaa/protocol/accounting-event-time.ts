/** Why an Accounting-Request's time is not believed; each is a drop cause of the server. */
export type EventTimeRejection = 'event-timestamp-ahead' | 'event-timestamp-too-old' | 'acct-delay-time-too-long';

export interface EventTimeInput {
  /** Event-Timestamp, seconds since 1970-01-01 UTC (RFC 2869 §5.3), or null when absent. */
  eventTimestamp: number | null;
  /** Acct-Delay-Time, seconds (RFC 2866 §5.2), or null when absent. */
  acctDelayTime: number | null;
  /** When the request arrived, epoch milliseconds on our clock. */
  receivedAt: number;
  /** Oldest event accepted, as a distance back from arrival: a NAS buffers hours, not days. */
  maxDelayMs: number;
  /** How far ahead of our clock an Event-Timestamp may be and still be believed. */
  maxAheadMs: number;
}

export type EventTime =
  | { ok: true; at: number; source: 'event-timestamp' | 'acct-delay-time' | 'arrival' }
  | { ok: false; cause: EventTimeRejection; claimed: number };

/**
 * When the thing an Accounting-Request reports happened, on the NAS's clock — as
 * FreeRADIUS's SQL schema dates its rows: Event-Timestamp when present, otherwise arrival
 * minus Acct-Delay-Time, otherwise arrival. A NAS replaying a night of buffered accounting
 * thus writes the same history as one that sent it live.
 *
 * @example
 * accountingEventTime({ eventTimestamp: null, acctDelayTime: 30, receivedAt: 1_700_000_030_000, maxDelayMs: 86_400_000, maxAheadMs: 60_000 });
 * // { ok: true, at: 1_700_000_000_000, source: 'acct-delay-time' }
 */
export function accountingEventTime(input: EventTimeInput): EventTime {
  const { eventTimestamp, acctDelayTime, receivedAt, maxDelayMs, maxAheadMs } = input;
  if (eventTimestamp !== null) {
    // RFC 2869 §5.3: "the time that this event occurred on the NAS". Preferred to
    // Acct-Delay-Time, which only says how long the NAS has been retrying.
    const at = eventTimestamp * 1000;
    if (at - receivedAt > maxAheadMs) return { ok: false, cause: 'event-timestamp-ahead', claimed: at };
    if (receivedAt - at > maxDelayMs) return { ok: false, cause: 'event-timestamp-too-old', claimed: at };
    // A clock a little ahead of ours: nothing happened after it was reported.
    return { ok: true, at: Math.min(at, receivedAt), source: 'event-timestamp' };
  }
  if (acctDelayTime !== null) {
    // RFC 2866 §5.2: it "indicates how many seconds the client has been trying to send
    // this record for, and can be subtracted from the time of arrival on the server to
    // find the approximate time of the event generating this Accounting-Request".
    const at = receivedAt - acctDelayTime * 1000;
    if (acctDelayTime * 1000 > maxDelayMs) return { ok: false, cause: 'acct-delay-time-too-long', claimed: at };
    return { ok: true, at, source: 'acct-delay-time' };
  }
  return { ok: true, at: receivedAt, source: 'arrival' };
}
