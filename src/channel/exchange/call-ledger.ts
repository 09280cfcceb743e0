import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger.ts';
import { outcomeOfStatus, type CallOutcome } from '@sideband/sip/protocol';
import type { SipMetrics } from '@sideband/sip';
import type { CallDetailRecord } from './call-detail-record.ts';
import type { CallDetailRecordSink } from './call-detail-record-sink.ts';

/** What the exchange knows of a call once the caller has authenticated. */
export interface CallSetup {
  readonly callId: string;
  readonly callerTag: string;
  readonly callerNumber: string;
  readonly calledNumber: string;
  readonly callerLine: string;
  readonly calleeLine: string | null;
  readonly reverseCharge: boolean;
  readonly startedAt: Date;
}

export interface LedgerCall extends CallSetup {
  answeredAt: Date | null;
  calleeTag: string | null;
}

const MAX_LIVE_CALLS = 100_000;

/**
 * The calls passing the exchange, from the authenticated INVITE to the final response or
 * the BYE, and the call detail record each one leaves. It also tells the dialog router
 * which dialogs are the exchange's own, so that in-dialog requests for anything else are
 * not relayed.
 */
export class CallLedger {
  private readonly calls = new Map<string, LedgerCall>();

  constructor(
    private readonly sink: CallDetailRecordSink,
    private readonly logger: Logger,
    private readonly metrics: SipMetrics,
  ) {}

  begin(setup: CallSetup): LedgerCall {
    const call: LedgerCall = { ...setup, answeredAt: null, calleeTag: null };
    // A bound on memory: calls whose BYE never passed (an endpoint died) are the oldest.
    if (this.calls.size >= MAX_LIVE_CALLS) {
      const [oldestKey, oldest] = this.calls.entries().next().value!;
      this.calls.delete(oldestKey);
      this.close(oldest, oldest.answeredAt ? 200 : 500, 'exchange');
    }
    this.calls.set(key(setup.callId, setup.callerTag), call);
    return call;
  }

  answered(call: LedgerCall, calleeTag: string | null): void {
    if (call.answeredAt !== null) return;
    call.answeredAt = new Date();
    call.calleeTag = calleeTag;
  }

  /** The INVITE got a final failure status: the attempt is over. */
  failed(call: LedgerCall, status: number, outcome: CallOutcome = outcomeOfStatus(status)): void {
    if (!this.calls.delete(key(call.callId, call.callerTag))) return;
    this.close(call, status, null, outcome);
  }

  /** A call refused before it was begun (403, 404): it still leaves a record. */
  refused(setup: CallSetup, status: number, outcome: CallOutcome = outcomeOfStatus(status)): void {
    this.close({ ...setup, answeredAt: null, calleeTag: null }, status, null, outcome);
  }

  /** A BYE passed: `from` is the BYE's From tag, which tells who hung up. */
  ended(call: LedgerCall, fromTag: string | null): void {
    if (!this.calls.delete(key(call.callId, call.callerTag))) return;
    this.close(call, 200, fromTag === call.callerTag ? 'caller' : 'callee');
  }

  /** The call an in-dialog request belongs to: its Call-ID, with the caller's tag on one side. */
  findDialog(callId: string, fromTag: string | null, toTag: string | null): LedgerCall | undefined {
    for (const tag of [fromTag, toTag]) {
      if (tag === null) continue;
      const call = this.calls.get(key(callId, tag));
      if (!call) continue;
      const other = tag === fromTag ? toTag : fromTag;
      if (call.calleeTag === null || call.calleeTag === other) return call;
    }
    return undefined;
  }

  /** Shutdown: every call still up is recorded as released by the exchange. */
  flush(): void {
    for (const call of this.calls.values()) this.close(call, call.answeredAt ? 200 : 503, call.answeredAt ? 'exchange' : null);
    this.calls.clear();
  }

  private close(call: LedgerCall, status: number, releasedBy: CallDetailRecord['releasedBy'], outcome: CallOutcome = outcomeOfStatus(status)): void {
    const endedAt = new Date();
    const record: CallDetailRecord = {
      id: randomUUID(),
      callId: call.callId,
      callerNumber: call.callerNumber,
      calledNumber: call.calledNumber,
      callerLine: call.callerLine,
      calleeLine: call.calleeLine,
      startedAt: call.startedAt,
      answeredAt: call.answeredAt,
      endedAt,
      durationMs: call.answeredAt ? endedAt.getTime() - call.answeredAt.getTime() : 0,
      bytes: null,
      billedParty: call.reverseCharge ? 'callee' : 'caller',
      billedNumber: call.reverseCharge ? call.calledNumber : call.callerNumber,
      billedLine: call.reverseCharge ? call.calleeLine : call.callerLine,
      reverseCharge: call.reverseCharge,
      outcome,
      status,
      releasedBy,
    };
    this.metrics.call(outcome);
    this.logger.info({ callId: record.callId, caller: record.callerNumber, called: record.calledNumber, outcome, status, durationMs: record.durationMs }, 'call detail record');
    Promise.resolve()
      .then(() => this.sink.write(record))
      .catch((e: unknown) => this.logger.error({ err: e, callId: record.callId }, 'call detail record could not be written'));
  }
}

const key = (callId: string, callerTag: string): string => `${callId}|${callerTag}`;
