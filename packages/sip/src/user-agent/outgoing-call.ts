import type { ClientTransaction } from '../protocol/client-transaction.ts';
import { Dialog } from '../protocol/dialog.ts';
import type { DigestChallenge } from '../protocol/digest-challenge.ts';
import { newCallId, newTag } from '../protocol/identifiers.ts';
import { SipHeaders } from '../wire/sip-headers.ts';
import { headerKey } from '../wire/header-name.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { formatSipUri } from '../wire/sip-uri.ts';
import { answerChallenge, ProxyCredentialCache } from './answer-challenge.ts';
import { Call } from './call.ts';
import type { Hop } from '../protocol/hop.ts';
import type { SipUri } from '../wire/sip-uri.ts';
import type { Account } from './answer-challenge.ts';
import { SipFailure } from './sip-failure.ts';
import { ALLOW, type UserAgentCore } from './user-agent-core.ts';

export interface CallOptions {
  /**
   * The caller's number: one this user agent registered (that registration's credentials
   * answer the exchange's 407), or any number when `line` is given.
   */
  readonly from: string;
  /** Call through this exchange and line without registering (a line that only places calls). */
  readonly line?: { readonly registrar: string; readonly username: string; readonly password: string };
  /** The SDP offer. */
  readonly sdp: string;
  /** Extra headers for the INVITE; the ones that make up the transaction and dialog are refused. */
  readonly headers?: readonly (readonly [string, string])[];
  /** CANCEL when not answered within this long, and fail with SIP_NO_ANSWER; 60 s unless given. */
  readonly ringTimeoutMs?: number;
  /** Aborting CANCELs the call while it rings, and fails it with SIP_CANCELLED. */
  readonly signal?: AbortSignal;
  /** Called with each provisional status (180, 183) as it arrives. */
  readonly onProgress?: (status: number, reason: string) => void;
}

/** The exchange a call goes through and the credentials for its 407: a Registration, or a `line` option. */
export interface CallingLine {
  readonly registrar: SipUri;
  readonly hop: Hop;
  readonly account: Account;
  /** The line's last INVITE challenge, answered again on its next call (absent: every call is challenged). */
  readonly proxyCredentials?: ProxyCredentialCache;
}

const reserved = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'content-length', 'content-type', 'max-forwards', 'route', 'record-route', 'authorization', 'proxy-authorization']);

/**
 * One outgoing INVITE (RFC 3261 §13.2) through the exchange the caller number is
 * registered with, until it is answered (ACK, §13.2.2.4), refused, or cancelled (§9.1).
 */
export class OutgoingCall {
  readonly result: Promise<Call>;
  private resolve!: (call: Call) => void;
  private reject!: (e: SipFailure) => void;
  private readonly callId: string;
  private readonly fromTag = newTag();
  private cseq = 1;
  private transaction: ClientTransaction | null = null;
  private request: SipRequest | null = null;
  private authAttempts = 0;
  /** The INVITE went with credentials the exchange had not asked for yet (ProxyCredentialCache). */
  private preemptive = false;
  /** The 407 challenge this INVITE's credentials answer, until the exchange shows it took them. */
  private answeredChallenge: DigestChallenge | null = null;
  private isSettled = false;
  private cancelReason: 'no-answer' | 'cancelled' | null = null;
  private cancelSent = false;
  private ack: Buffer | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onAbort = () => this.requestCancel('cancelled');

  constructor(
    private readonly core: UserAgentCore,
    private readonly registration: CallingLine,
    private readonly dialled: string,
    private readonly options: CallOptions,
    /** Told once the attempt is settled, however it ends. */
    private readonly settled: (attempt: OutgoingCall) => void = () => undefined,
  ) {
    for (const [name] of options.headers ?? []) {
      if (reserved.has(headerKey(name))) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `header ${name} is set by the user agent`);
    }
    this.callId = newCallId(core.layer.local(registration.hop.transport)!.host);
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  start(): Promise<Call> {
    if (this.options.signal?.aborted) {
      this.fail(new SipFailure('SIP_CANCELLED', null, 'aborted before the INVITE was sent'));
      return this.result;
    }
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.timers.push(setTimeout(() => this.requestCancel('no-answer'), this.options.ringTimeoutMs ?? 60_000));
    const cached = this.registration.proxyCredentials?.next({ method: 'INVITE', uri: this.requestUri() }, this.registration.account) ?? null;
    this.preemptive = cached !== null;
    this.send(cached === null ? null : { header: 'Proxy-Authorization', value: cached });
    return this.result;
  }

  private send(authorization: { header: string; value: string } | null): void {
    const { registration, options } = this;
    const domain = { ...registration.registrar, params: new Map(), headers: null };
    const headers = new SipHeaders()
      .append('Max-Forwards', '70')
      .append('From', `<${formatSipUri({ ...domain, user: options.from, port: null })}>;tag=${this.fromTag}`)
      .append('To', `<${formatSipUri({ ...domain, user: this.dialled, port: null })}>`)
      .append('Call-ID', this.callId)
      .append('CSeq', `${this.cseq} INVITE`)
      .append('Contact', this.core.contact(options.from, registration.hop.transport))
      .append('Allow', ALLOW)
      .append('User-Agent', this.core.product);
    if (authorization) headers.append(authorization.header, authorization.value);
    try {
      for (const [name, value] of options.headers ?? []) headers.append(name, value);
    } catch (e) {
      return this.fail(new SipFailure('SIP_INVALID_ARGUMENT', null, (e as Error).message));
    }
    headers.append('Content-Type', 'application/sdp');
    const request: SipRequest = { kind: 'request', method: 'INVITE', uri: this.requestUri(), headers, body: Buffer.from(options.sdp, 'utf8') };
    this.request = request;
    this.transaction = this.core.layer.sendRequest(request, registration.hop, {
      response: (response, transaction) => this.receive(response, transaction),
      timeout: () => this.fail(this.cancelFailure() ?? new SipFailure('SIP_UNREACHABLE', 408, `no response to INVITE from ${registration.hop.host}:${registration.hop.port}`)),
      transportError: (e) => this.fail(new SipFailure('SIP_UNREACHABLE', 503, `INVITE to ${registration.hop.host}:${registration.hop.port}: ${e.message}`)),
    });
  }

  private requestUri(): string {
    return formatSipUri({ ...this.registration.registrar, params: new Map(), headers: null, user: this.dialled });
  }

  private receive(response: SipResponse, transaction: ClientTransaction): void {
    if (transaction !== this.transaction) return;
    if (response.status < 200) {
      if (this.cancelReason !== null && !this.cancelSent) this.sendCancel();
      if (response.status > 100) this.options.onProgress?.(response.status, response.reason);
      return;
    }
    // Any other final answer means the exchange took the credentials: they may go unasked on the line's next call.
    if (this.answeredChallenge && response.status !== 401 && response.status !== 407) {
      this.registration.proxyCredentials?.answered(this.answeredChallenge);
      this.answeredChallenge = null;
    }
    if (response.status < 300) return void this.answered(response);
    if ((response.status === 401 || response.status === 407) && !this.isSettled && this.cancelReason === null && this.request) {
      const answer = answerChallenge(response, { method: 'INVITE', uri: this.request.uri }, this.registration.account);
      // Credentials sent unasked and refused (a stale nonce, a count overtaken by another
      // call's): not the line's failure; the challenge is answered as if it were the first.
      if (this.preemptive) this.registration.proxyCredentials?.forget();
      this.preemptive = false;
      // One answer to a challenge, and one more only for a stale nonce (RFC 2617 §3.2.1).
      if (answer && this.authAttempts < 2 && (this.authAttempts === 0 || answer.challenge.stale)) {
        this.authAttempts++;
        this.answeredChallenge = response.status === 407 ? answer.challenge : null;
        // RFC 3261 §22.2: resubmitting with credentials, the UAC "MUST increment the CSeq
        // header field value as it would normally when sending an updated request".
        this.cseq++;
        return this.send(answer);
      }
      return this.fail(new SipFailure('SIP_UNAUTHENTICATED', response.status, `${response.status} ${response.reason}`));
    }
    if (response.status === 487) return this.fail(this.cancelFailure() ?? SipFailure.fromStatus(487, response.reason));
    this.fail(SipFailure.fromStatus(response.status, response.reason));
  }

  private async answered(response: SipResponse): Promise<void> {
    if (this.ack) {
      // RFC 3261 §13.2.2.4: each retransmission of the 2xx gets the same ACK again.
      await this.core.layer.resend(this.ack, this.registration.hop).catch(() => undefined);
      return;
    }
    const dialog = Dialog.asCaller(this.request!, response);
    if (dialog === null) return this.fail(new SipFailure('SIP_REJECTED', response.status, 'the 2xx has no Contact or no To tag'));
    // §13.2.2.4: the ACK has the INVITE's CSeq number and travels the dialog's route.
    const { request: ack, hop } = dialog.createRequest('ACK', { cseq: this.cseq });
    this.ack = Buffer.alloc(0);
    try {
      this.ack = await this.core.layer.sendStateless(ack, hop ?? this.registration.hop);
    } catch (e) {
      this.core.logger.debug({ err: e }, 'SIP ACK could not be sent');
    }
    const call = new Call(this.core, dialog, { direction: 'outgoing', dnis: this.dialled, ani: this.options.from, localSdp: this.options.sdp, remoteSdp: response.body.toString('utf8') });
    if (this.isSettled || this.cancelReason !== null) {
      // §9.1: a CANCEL can cross the 200 — the call was answered after all; hang up.
      void call.bye();
      return this.fail(this.cancelFailure()!);
    }
    this.settle();
    this.core.metrics.call('answered');
    this.resolve(call);
  }

  /** RFC 3261 §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the client MUST wait for the arrival of a provisional response". */
  private requestCancel(reason: 'no-answer' | 'cancelled'): void {
    if (this.isSettled || this.cancelReason !== null || this.ack) return;
    this.cancelReason = reason;
    if (this.transaction?.hasProvisional) this.sendCancel();
    // §9.1: with no final response "in 64*T1 seconds ... the client SHOULD then consider the original transaction cancelled".
    this.timers.push(setTimeout(() => {
      this.transaction?.terminate();
      this.fail(this.cancelFailure()!);
    }, 64 * this.core.timers.T1));
  }

  private sendCancel(): void {
    if (!this.transaction || this.cancelSent) return;
    this.cancelSent = true;
    const ignore = () => undefined;
    this.core.layer.cancel(this.transaction, { response: ignore, timeout: ignore, transportError: ignore });
  }

  private cancelFailure(): SipFailure | null {
    if (this.cancelReason === 'no-answer') return new SipFailure('SIP_NO_ANSWER', 487, `not answered within ${this.options.ringTimeoutMs ?? 60_000} ms`);
    if (this.cancelReason === 'cancelled') return new SipFailure('SIP_CANCELLED', 487);
    return null;
  }

  private fail(e: SipFailure): void {
    if (this.isSettled) return;
    this.settle();
    this.core.metrics.call(e.outcome);
    this.reject(e);
  }

  /** The user agent is stopping: a ringing call is CANCELled (best effort) and the attempt fails at once. */
  abandon(): void {
    if (this.transaction?.hasProvisional && !this.cancelSent) this.sendCancel();
    this.transaction?.terminate();
    this.fail(new SipFailure('SIP_CALL_GONE', null, 'the user agent stopped before the call was answered'));
  }

  private settle(): void {
    this.isSettled = true;
    this.settled(this);
    for (const t of this.timers) clearTimeout(t);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}
