import type { Peer } from '../transport/sip-transport.ts';
import { serializeMessage } from '../wire/serialize-message.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import type { Hop } from './hop.ts';
import { TransactionTimers, type TransactionContext } from './transaction-context.ts';

type State = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/**
 * A server transaction (RFC 3261 §17.2), INVITE or non-INVITE, with the RFC 6026 Accepted
 * state for INVITE. It answers retransmitted requests with the last response, and over UDP
 * retransmits a non-2xx final response to INVITE until the ACK comes (Timer G, §17.2.1).
 * Retransmitting a 2xx until ACK is the transaction user's job (§13.3.1.4).
 */
export class ServerTransaction {
  readonly side = 'server' as const;
  readonly isInvite: boolean;
  private state: State;
  private readonly timers = new TransactionTimers();
  private last: { bytes: Buffer; hop: Hop } | null = null;
  private finalStatus: number | null = null;
  /** Called when Timer H fires: a non-2xx final response to INVITE was never acknowledged. */
  onAckTimeout: (() => void) | null = null;

  constructor(
    private readonly context: TransactionContext,
    readonly key: string,
    readonly request: SipRequest,
    readonly source: Peer,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'proceeding' : 'trying';
  }

  /** The final status sent, or null while the request is still pending. */
  get finalResponseStatus(): number | null {
    return this.finalStatus;
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  /** Sends a response; one that the state does not allow (a second final) is ignored. */
  respond(response: SipResponse): void {
    if (this.finalStatus !== null || this.state === 'terminated') return;
    const { T1, T2 } = this.context.timers;
    const hop = this.context.responseHop(response, this.source);
    const reliable = hop.transport === 'TCP';
    this.last = { bytes: serializeMessage(response), hop };
    this.transmit();
    if (response.status < 200) {
      if (!this.isInvite) this.state = 'proceeding';
      return;
    }
    this.finalStatus = response.status;
    if (!this.isInvite) {
      this.state = 'completed';
      // §17.2.2: Timer J is 64*T1 for unreliable transports, zero for reliable ones.
      this.timers.set('J', reliable ? 0 : 64 * T1, () => this.terminate());
    } else if (response.status < 300) {
      // RFC 6026 §7.1: Accepted absorbs retransmitted INVITEs until Timer L, 64*T1.
      this.state = 'accepted';
      this.timers.set('L', 64 * T1, () => this.terminate());
    } else {
      this.state = 'completed';
      if (!reliable) {
        const arm = (interval: number) =>
          this.timers.set('G', interval, () => {
            if (this.state !== 'completed') return;
            this.transmit();
            arm(Math.min(2 * interval, T2));
          });
        arm(T1);
      }
      this.timers.set('H', 64 * T1, () => {
        if (this.state !== 'completed') return;
        this.terminate();
        this.onAckTimeout?.();
      });
    }
  }

  /** A retransmission of the request: answer it with the last response, if any (§17.2.1, §17.2.2). */
  receiveRetransmission(): void {
    if (this.state === 'accepted' || this.state === 'terminated' || this.state === 'confirmed') return;
    if (this.last) this.transmit();
  }

  /** The ACK for a non-2xx final response (§17.2.1: Completed → Confirmed, Timer I). */
  receiveAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.timers.clearAll();
    this.timers.set('I', this.last?.hop.transport === 'TCP' ? 0 : this.context.timers.T4, () => this.terminate());
  }

  get accepted(): boolean {
    return this.state === 'accepted';
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clearAll();
    this.context.terminated(this);
  }

  private transmit(): void {
    const last = this.last;
    if (!last) return;
    this.context.sendBytes(last.bytes, last.hop).catch((error: Error) => {
      // §17.2.4: a transport failure while sending a response "SHOULD" be reported to the
      // TU; nothing here can be done about it beyond saying so.
      this.context.logger.debug({ err: error, method: this.request.method, host: last.hop.host, port: last.hop.port }, 'SIP response could not be sent');
    });
  }
}
