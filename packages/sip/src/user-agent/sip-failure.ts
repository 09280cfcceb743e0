import type { CallOutcome } from '../protocol/call-outcome.ts';
import { outcomeOfStatus } from '../protocol/call-outcome.ts';

/**
 * The codes a user agent rejects with. They are meant for src/errors/registry.ts (see the
 * note there); until then they live here, with the same cause/fix shape.
 */
export const sipFailureCodes = {
  SIP_NUMBER_UNKNOWN: { outcome: 'not-found', cause: 'The exchange has no line registered under the dialled number (404).', fix: 'Check the number; the callee must be registered.' },
  SIP_BUSY: { outcome: 'busy', cause: 'The callee is busy (486/600).', fix: 'Call again later.' },
  SIP_NO_ANSWER: { outcome: 'no-answer', cause: 'Nobody answered before the ring timeout, or the callee could not be reached (408/480).', fix: 'Call again later, or lengthen ringTimeoutMs.' },
  SIP_CANCELLED: { outcome: 'cancelled', cause: 'The call was cancelled before it was answered (487).', fix: 'None: the caller cancelled it.' },
  SIP_FORBIDDEN: { outcome: 'forbidden', cause: 'The exchange refused the request: the caller number is not one of the line\'s numbers, or the line may not register that number (403).', fix: 'Call from a number the line owns.' },
  SIP_UNAUTHENTICATED: { outcome: 'unauthenticated', cause: 'The exchange did not accept the line\'s username and password (401/407).', fix: 'Check the line\'s credentials.' },
  SIP_UNREACHABLE: { outcome: 'unreachable', cause: 'No response from the exchange, or the transport failed (timer B/F, or a connection error).', fix: 'Check the exchange\'s address and that it is running.' },
  SIP_SERVER_ERROR: { outcome: 'server-error', cause: 'The exchange or the callee failed (5xx).', fix: 'Read the exchange\'s log.' },
  SIP_REJECTED: { outcome: 'rejected', cause: 'The call was refused with another status (such as 488 or 603).', fix: 'Read the status and reason.' },
  SIP_NOT_REGISTERED: { outcome: 'rejected', cause: 'The caller number is not registered by this user agent, so there are no credentials or exchange to call through.', fix: 'Register the number with register() first.' },
  SIP_INVALID_ARGUMENT: { outcome: 'rejected', cause: 'A number, status or header given to the user agent is not valid.', fix: 'Numbers are digits with an optional leading "+"; statuses 300-699; header values without CR/LF.' },
  SIP_CALL_GONE: { outcome: 'rejected', cause: 'The call was already answered, rejected, cancelled or ended.', fix: 'None.' },
} as const satisfies Record<string, { outcome: CallOutcome; cause: string; fix: string }>;

export type SipFailureCode = keyof typeof sipFailureCodes;

/** Why a call, registration or answer failed, with the SIP status that said so when there was one. */
export class SipFailure extends Error {
  constructor(
    readonly code: SipFailureCode,
    /** The final response's status; 408 for a timeout and 503 for a transport error (RFC 3261 §8.1.3.1). */
    readonly status: number | null,
    message?: string,
  ) {
    super(message ?? sipFailureCodes[code].cause);
    this.name = 'SipFailure';
  }

  get outcome(): CallOutcome {
    return sipFailureCodes[this.code].outcome;
  }

  static fromStatus(status: number, reason: string): SipFailure {
    const code = codeByOutcome[outcomeOfStatus(status)];
    return new SipFailure(code, status, `${status} ${reason}`);
  }
}

const codeByOutcome: Record<CallOutcome, SipFailureCode> = {
  answered: 'SIP_REJECTED',
  'not-found': 'SIP_NUMBER_UNKNOWN',
  busy: 'SIP_BUSY',
  'no-answer': 'SIP_NO_ANSWER',
  cancelled: 'SIP_CANCELLED',
  forbidden: 'SIP_FORBIDDEN',
  unauthenticated: 'SIP_UNAUTHENTICATED',
  unreachable: 'SIP_UNREACHABLE',
  'server-error': 'SIP_SERVER_ERROR',
  rejected: 'SIP_REJECTED',
};
