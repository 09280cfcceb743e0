import { EventEmitter } from 'node:events';
import { createResponse } from '../protocol/create-response.ts';
import { Dialog } from '../protocol/dialog.ts';
import type { ServerTransaction } from '../protocol/server-transaction.ts';
import type { Peer } from '../transport/sip-transport.ts';
import type { SipHeaders } from '../wire/sip-headers.ts';
import { Call } from './call.ts';
import { SipFailure } from './sip-failure.ts';
import { ALLOW, type UserAgentCore } from './user-agent-core.ts';

export interface IncomingCallFacts {
  /** The Request-URI's user: the number that was dialled (DNIS). */
  readonly dnis: string;
  /**
   * The caller's number as the exchange asserts it (RFC 3325 P-Asserted-Identity), or null
   * when the INVITE carried none or came from a host the user agent does not trust.
   */
  readonly ani: string | null;
  /** The From user: what the caller claims; not authenticated, for display only. */
  readonly fromUser: string | null;
  readonly callId: string;
  /** The SDP offer (application/sdp body), as received. */
  readonly offer: string;
  readonly source: Peer;
  readonly headers: SipHeaders;
}

/**
 * An INVITE waiting for the application's answer: accept with an SDP answer or reject
 * with a status. It is already ringing (180); 'cancelled' is emitted if the caller gives
 * up first (RFC 3261 §9.2, answered 487).
 *
 * @example
 * ua.onInvite = (incoming) => {
 *   if (incoming.ani === null) return incoming.reject(403, 'Caller Not Identified');
 *   incoming.accept(describeTlsStream({ ... })).then((call) => ...);
 * };
 */
export class IncomingCall extends EventEmitter<{ cancelled: [] }> {
  private state: 'ringing' | 'answering' | 'answered' | 'rejected' | 'cancelled' = 'ringing';

  constructor(
    private readonly core: UserAgentCore,
    private readonly transaction: ServerTransaction,
    private readonly toTag: string,
    readonly facts: IncomingCallFacts,
    /** Told once the call stops ringing, however it does. */
    private readonly settled: () => void = () => undefined,
  ) {
    super();
  }

  private leaveRinging(state: 'answering' | 'rejected' | 'cancelled'): void {
    this.state = state;
    this.settled();
  }

  get dnis(): string {
    return this.facts.dnis;
  }

  get ani(): string | null {
    return this.facts.ani;
  }

  get fromUser(): string | null {
    return this.facts.fromUser;
  }

  get offer(): string {
    return this.facts.offer;
  }

  get callId(): string {
    return this.facts.callId;
  }

  get isCancelled(): boolean {
    return this.state === 'cancelled';
  }

  /**
   * Answers 200 with `sdpAnswer` and resolves with the Call once the caller's ACK arrives
   * (RFC 3261 §13.3.1.4). Rejects with SIP_CALL_GONE if the caller cancelled first or
   * hung up before acknowledging, SIP_UNREACHABLE if no ACK came within 64*T1.
   */
  async accept(sdpAnswer: string): Promise<Call> {
    if (this.state !== 'ringing') throw new SipFailure('SIP_CALL_GONE', null, `the call is ${this.state}`);
    this.leaveRinging('answering');
    const request = this.transaction.request;
    const dialog = Dialog.asCallee(request, this.toTag)!;
    const response = createResponse(request, 200, {
      toTag: this.toTag,
      headers: [['Contact', this.core.contact(this.dnis, this.facts.source.transport)], ['Allow', ALLOW], ['User-Agent', this.core.product]],
      body: Buffer.from(sdpAnswer, 'utf8'),
      contentType: 'application/sdp',
    });
    const call = new Call(this.core, dialog, { direction: 'incoming', dnis: this.dnis, ani: this.ani, localSdp: sdpAnswer, remoteSdp: this.offer }, true);
    this.transaction.respond(response);
    try {
      await call.awaitAck(response, this.facts.source);
    } catch (e) {
      this.state = 'rejected';
      throw e;
    }
    this.state = 'answered';
    return call;
  }

  /** Refuses the call: 486 Busy Here unless another 3xx-6xx status is given. */
  reject(status = 486, reason?: string): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `status ${status} is not a final failure status`);
    if (reason !== undefined && /[\r\n\0]/.test(reason)) throw new SipFailure('SIP_INVALID_ARGUMENT', null, 'reason holds CR, LF or NUL');
    if (this.state !== 'ringing') return;
    this.leaveRinging('rejected');
    this.transaction.respond(createResponse(this.transaction.request, status, { toTag: this.toTag, ...(reason ? { reason } : {}) }));
  }

  /** The caller's CANCEL arrived (RFC 3261 §9.2: the UAS "SHOULD immediately respond to the INVITE with a 487"). */
  cancel(): void {
    if (this.state !== 'ringing') return;
    this.leaveRinging('cancelled');
    this.transaction.respond(createResponse(this.transaction.request, 487, { toTag: this.toTag }));
    this.emit('cancelled');
  }
}
