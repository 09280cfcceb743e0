import { EventEmitter } from 'node:events';
import { createResponse } from '../protocol/create-response.ts';
import type { Dialog } from '../protocol/dialog.ts';
import type { ServerTransaction } from '../protocol/server-transaction.ts';
import type { Peer } from '../transport/sip-transport.ts';
import { cseqOf } from '../wire/message-fields.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { SipFailure } from './sip-failure.ts';
import { ALLOW, requestFinal, type DialogUser, type UserAgentCore } from './user-agent-core.ts';

export interface CallEnd {
  /**
   * local: this side's bye() or stop(); remote: the peer's BYE; no-ack: the caller never
   * acknowledged our 200 (RFC 3261 §13.3.1.4).
   */
  readonly by: 'local' | 'remote' | 'no-ack';
  readonly at: Date;
}

export interface CallFacts {
  readonly direction: 'outgoing' | 'incoming';
  /** The dialled number (DNIS). */
  readonly dnis: string;
  /**
   * The caller's number (ANI): for an outgoing call our own; for an incoming call the
   * exchange's P-Asserted-Identity, or null when there was none from a trusted host.
   */
  readonly ani: string | null;
  readonly localSdp: string;
  readonly remoteSdp: string;
}

/**
 * An answered call: a confirmed dialog (RFC 3261 §12). It ends with bye() or with the
 * peer's BYE (§15); either way `ended` resolves and 'ended' is emitted once.
 *
 * @example
 * const call = await ua.call('+15550199', { from: '+15550100', sdp: offer });
 * call.on('ended', ({ by }) => log.info({ by }, 'call over'));
 * await call.bye();
 */
export class Call extends EventEmitter<{ ended: [CallEnd] }> implements DialogUser {
  readonly answeredAt = new Date();
  readonly ended: Promise<CallEnd>;
  private resolveEnded!: (end: CallEnd) => void;
  private state: 'awaiting-ack' | 'confirmed' | 'ended';
  private answer: { timer: NodeJS.Timeout | null; confirm: () => void; fail: (e: SipFailure) => void } | null = null;

  constructor(
    private readonly core: UserAgentCore,
    private readonly dialog: Dialog,
    readonly facts: CallFacts,
    awaitingAck = false,
  ) {
    super();
    this.state = awaitingAck ? 'awaiting-ack' : 'confirmed';
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    core.dialogs.set(dialog.id, this);
  }

  get callId(): string {
    return this.dialog.callId;
  }

  get direction(): 'outgoing' | 'incoming' {
    return this.facts.direction;
  }

  get dnis(): string {
    return this.facts.dnis;
  }

  get ani(): string | null {
    return this.facts.ani;
  }

  get localSdp(): string {
    return this.facts.localSdp;
  }

  get remoteSdp(): string {
    return this.facts.remoteSdp;
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /**
   * Hangs up (RFC 3261 §15.1.1: the session is over "as soon as the BYE request is passed
   * to the client transaction"), and resolves when the peer answered the BYE or the
   * transaction gave up.
   */
  async bye(): Promise<void> {
    if (this.state === 'ended') return;
    this.end('local');
    await this.sendBye();
  }

  private async sendBye(): Promise<void> {
    const { request, hop } = this.dialog.createRequest('BYE', { headers: [['User-Agent', this.core.product]] });
    if (hop === null) return;
    await requestFinal(this.core.layer, request, hop).catch(() => undefined);
  }

  /**
   * For an answered incoming call: retransmits the 200 until the ACK comes (RFC 3261
   * §13.3.1.4: "starts at T1 seconds and doubles for each retransmission until it reaches
   * T2 seconds"), and gives up after 64*T1 with a BYE, as that section says to.
   */
  awaitAck(response: SipResponse, source: Peer): Promise<void> {
    const { T1, T2 } = this.core.timers;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const arm = (interval: number) => {
        this.answer!.timer = setTimeout(() => {
          if (Date.now() - started >= 64 * T1) {
            this.answer = null;
            this.end('no-ack');
            void this.sendBye();
            return reject(new SipFailure('SIP_UNREACHABLE', 408, 'the caller never acknowledged the 200'));
          }
          this.core.layer.sendResponse(response, source).catch(() => undefined);
          arm(Math.min(2 * interval, T2));
        }, Math.min(interval, Math.max(0, 64 * T1 - (Date.now() - started))));
      };
      this.answer = { timer: null, confirm: resolve, fail: reject };
      arm(T1);
    });
  }

  handleRequest(request: SipRequest, transaction: ServerTransaction | null): void {
    if (request.method === 'ACK') {
      if (this.state === 'awaiting-ack' && this.answer) {
        if (this.answer.timer) clearTimeout(this.answer.timer);
        const { confirm } = this.answer;
        this.answer = null;
        this.state = 'confirmed';
        confirm();
      }
      return;
    }
    if (!transaction) return;
    if (!this.dialog.acceptRemoteSeq(cseqOf(request).seq)) return transaction.respond(createResponse(request, 500, { reason: 'CSeq Out Of Order' }));
    switch (request.method) {
      case 'BYE':
        transaction.respond(createResponse(request, 200));
        this.end('remote');
        return;
      case 'OPTIONS':
        return transaction.respond(createResponse(request, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] }));
      case 'INVITE':
        // RFC 3261 §14.2: a re-INVITE whose offer the UAS cannot accept gets 488, and the
        // session goes on as it was. Sideband's sessions are fixed once answered.
        return transaction.respond(createResponse(request, 488, { reason: 'Session Changes Not Supported' }));
      default:
        return transaction.respond(createResponse(request, 405, { headers: [['Allow', ALLOW]] }));
    }
  }

  /** Ends the call without signalling (the peer's BYE, or the user agent shutting down after its own BYE). */
  end(by: CallEnd['by']): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.answer) {
      // Ended before the ACK (a BYE from a caller that gave up, or shutdown): the answer is void.
      if (this.answer.timer) clearTimeout(this.answer.timer);
      this.answer.fail(new SipFailure('SIP_CALL_GONE', null, 'the call ended before the caller acknowledged the answer'));
      this.answer = null;
    }
    this.core.dialogs.delete(this.dialog.id);
    const end: CallEnd = { by, at: new Date() };
    this.resolveEnded(end);
    this.emit('ended', end);
  }
}
