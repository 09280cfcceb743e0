import type { CallOutcome } from '@sideband/sip/protocol';

/**
 * One call attempt through the exchange, written when it ends. An attempt is counted once
 * the caller has authenticated; a request refused 407 (no credentials yet) is not a call.
 */
export interface CallDetailRecord {
  readonly id: string;
  /** The SIP Call-ID, shared with the endpoints' logs. */
  readonly callId: string;
  /** The authenticated caller's number (ANI), as asserted to the callee. */
  readonly callerNumber: string;
  /** The dialled number (DNIS). */
  readonly calledNumber: string;
  /** The username of the calling line. */
  readonly callerLine: string;
  /** The username of the line owning the dialled number; null when no line owns it. */
  readonly calleeLine: string | null;
  /** When the exchange accepted the authenticated INVITE. */
  readonly startedAt: Date;
  /** When the callee's 2xx passed the exchange; null if it never answered. */
  readonly answeredAt: Date | null;
  /** When the BYE passed (answered calls) or the final response did (others). */
  readonly endedAt: Date;
  /** From answer to end, in milliseconds; 0 when not answered. */
  readonly durationMs: number;
  /** Media bytes: the exchange does not carry the media, so it never knows them. */
  readonly bytes: number | null;
  /** Who pays: the caller, or the callee when the dialled number is reverse-charge. */
  readonly billedParty: 'caller' | 'callee';
  readonly billedNumber: string;
  readonly billedLine: string | null;
  readonly reverseCharge: boolean;
  readonly outcome: CallOutcome;
  /** The final status of the INVITE as sent to the caller. */
  readonly status: number;
  /** Which side's BYE ended an answered call; `exchange` when the exchange stopped with it up; null when unanswered. */
  readonly releasedBy: 'caller' | 'callee' | 'exchange' | null;
}
