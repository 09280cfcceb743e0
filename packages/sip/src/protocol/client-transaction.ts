import { cseqOf, topViaOf } from '../wire/message-fields.ts';
import { serializeMessage } from '../wire/serialize-message.ts';
import { SipHeaders } from '../wire/sip-headers.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { formatVia, viaBranch } from '../wire/via.ts';
import type { Hop } from './hop.ts';
import { TransactionTimers, type TransactionContext } from './transaction-context.ts';

export interface ClientTransactionEvents {
  /** Every response the transaction user should see; for INVITE, 2xx retransmissions too (RFC 6026 §7.2). */
  response(response: SipResponse, transaction: ClientTransaction): void;
  /** Timer B or F fired: no final response (RFC 3261 §17.1.1.2, §17.1.2.2); the TU treats it as 408. */
  timeout(transaction: ClientTransaction): void;
  /** RFC 3261 §8.1.3.1: a transport error is treated as a 503. */
  transportError(error: Error, transaction: ClientTransaction): void;
}

type State = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/**
 * A client transaction (RFC 3261 §17.1), INVITE or non-INVITE, with the RFC 6026 Accepted
 * state for INVITE. Over UDP it retransmits the request (Timer A: T1 doubling, §17.1.1.2;
 * Timer E: T1 doubling up to T2, §17.1.2.2); over TCP it does not, and the absorbing timers
 * D and K are zero.
 */
export class ClientTransaction {
  readonly side = 'client' as const;
  readonly key: string;
  readonly branch: string;
  readonly method: string;
  readonly isInvite: boolean;
  private state: State;
  private readonly timers = new TransactionTimers();
  private readonly bytes: Buffer;
  private ack: Buffer | null = null;
  private provisional = false;

  constructor(
    private readonly context: TransactionContext,
    /** As sent, with this transaction's Via on top. */
    readonly request: SipRequest,
    readonly hop: Hop,
    private readonly events: ClientTransactionEvents,
  ) {
    this.branch = viaBranch(topViaOf(request))!;
    this.method = request.method;
    this.key = `${this.branch}|${this.method}`;
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'calling' : 'trying';
    this.bytes = serializeMessage(request);
  }

  /** True once a provisional response arrived: RFC 3261 §9.1 allows CANCEL only then. */
  get hasProvisional(): boolean {
    return this.provisional;
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  start(): void {
    const { T1, T2 } = this.context.timers;
    const reliable = this.hop.transport === 'TCP';
    this.transmit(this.bytes);
    if (this.isInvite) {
      if (!reliable) this.retransmit('A', T1, (interval) => 2 * interval);
      // §17.1.1.2: "If the client transaction is still in the "Calling" state when timer B
      // fires, the client transaction SHOULD inform the TU that a timeout has occurred."
      this.timers.set('B', 64 * T1, () => this.timeOut());
    } else {
      if (!reliable) this.retransmit('E', T1, (interval) => (this.state === 'proceeding' ? T2 : Math.min(2 * interval, T2)));
      this.timers.set('F', 64 * T1, () => this.timeOut());
    }
  }

  receive(response: SipResponse): void {
    if (this.state === 'terminated') return;
    const provisional = response.status < 200;
    if (this.isInvite) return this.receiveInviteResponse(response, provisional);
    if (this.state === 'completed') return;
    if (provisional) {
      this.state = 'proceeding';
      this.provisional = true;
    } else {
      this.state = 'completed';
      this.timers.clearAll();
      // §17.1.2.2: Timer K is T4 for unreliable transports, zero for reliable ones.
      this.timers.set('K', this.hop.transport === 'TCP' ? 0 : this.context.timers.T4, () => this.terminate());
    }
    this.events.response(response, this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clearAll();
    this.context.terminated(this);
  }

  private receiveInviteResponse(response: SipResponse, provisional: boolean): void {
    const { T1 } = this.context.timers;
    if (this.state === 'calling' || this.state === 'proceeding') {
      this.timers.clear('A');
      if (provisional) {
        this.state = 'proceeding';
        this.provisional = true;
        this.timers.clear('B');
      } else if (response.status < 300) {
        // RFC 6026 §7.2: 2xx moves to Accepted, where further 2xx go to the TU (which ACKs
        // each) until Timer M, 64*T1, ends the transaction.
        this.state = 'accepted';
        this.timers.clearAll();
        this.timers.set('M', 64 * T1, () => this.terminate());
      } else {
        this.state = 'completed';
        this.timers.clearAll();
        this.ack = serializeMessage(this.ackFor(response));
        this.transmit(this.ack);
        // §17.1.1.2: Timer D "at least 32 seconds for unreliable transports, and ... zero seconds for reliable transports".
        this.timers.set('D', this.hop.transport === 'TCP' ? 0 : Math.max(32_000, 64 * T1), () => this.terminate());
      }
      this.events.response(response, this);
    } else if (this.state === 'accepted' && response.status >= 200 && response.status < 300) {
      this.events.response(response, this);
    } else if (this.state === 'completed' && response.status >= 300 && this.ack) {
      // §17.1.1.2: "Any retransmissions of the final response that are received while in
      // the "Completed" state MUST cause the ACK to be re-passed to the transport layer".
      this.transmit(this.ack);
    }
  }

  /**
   * RFC 3261 §17.1.1.3: the ACK for a non-2xx final response has the Request-URI, Call-ID,
   * From and CSeq number of the INVITE, the To of the response, "a single Via header field,
   * and this MUST be equal to the top Via header field of the original request", and the
   * INVITE's Route headers.
   */
  private ackFor(response: SipResponse): SipRequest {
    const headers = new SipHeaders();
    headers.append('Via', formatVia(topViaOf(this.request)));
    for (const route of this.request.headers.getAll('Route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', this.request.headers.get('From')!);
    headers.append('To', response.headers.get('To')!);
    headers.append('Call-ID', this.request.headers.get('Call-ID')!);
    headers.append('CSeq', `${cseqOf(this.request).seq} ACK`);
    return { kind: 'request', method: 'ACK', uri: this.request.uri, headers, body: Buffer.alloc(0) };
  }

  private retransmit(name: string, first: number, next: (interval: number) => number): void {
    const arm = (interval: number) =>
      this.timers.set(name, interval, () => {
        if (this.state !== 'calling' && this.state !== 'trying' && this.state !== 'proceeding') return;
        if (this.isInvite && this.state === 'proceeding') return;
        this.transmit(this.bytes);
        arm(next(interval));
      });
    arm(first);
  }

  private timeOut(): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'accepted') return;
    if (this.isInvite && this.state !== 'calling') return;
    this.terminate();
    this.events.timeout(this);
  }

  private transmit(bytes: Buffer): void {
    this.context.sendBytes(bytes, this.hop).catch((error: Error) => {
      if (this.state === 'terminated') return;
      this.context.logger.debug({ err: error, method: this.method, host: this.hop.host, port: this.hop.port }, 'SIP request could not be sent');
      this.terminate();
      this.events.transportError(error, this);
    });
  }
}
