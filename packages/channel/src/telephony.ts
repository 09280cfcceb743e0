/**
 * What the channel needs from the telephone network, whatever carries it: place a call to
 * a number, and answer calls to one's own numbers, seeing the dialed number (DNIS) and the
 * caller's number (ANI). `sip-telephony.ts` implements it over SIP.
 */
export interface EstablishedCall {
  /** The other side's session description (SDP). */
  readonly remoteDescription: string;
  hangup(): Promise<void>;
  /** Resolves when the call ends, from either side. */
  readonly ended: Promise<void>;
}

export interface IncomingCall {
  /** The dialed number: which reservation, hence which exchange, the call is for. */
  readonly dialed: string;
  /** The caller's number as the exchange asserts it. */
  readonly caller: string;
  readonly offer: string;
  accept(answer: string): Promise<EstablishedCall>;
  reject(status: number, reason: string): Promise<void>;
}

export interface Telephony {
  /** This end's own number, the one it calls from (the callee checks it as ANI). */
  readonly lineNumber: string;
  call(dialed: string, offer: string, ringTimeoutMs: number): Promise<EstablishedCall>;
  onIncoming(handler: (call: IncomingCall) => void): void;
  /** Idempotent: closing twice, or while a close is under way, is no error. */
  close(): Promise<void>;
}

/** Why a call could not be placed, as the channel reports it to the subscriber. */
export class CallFailure extends Error {
  constructor(override readonly cause: 'number-unknown' | 'busy' | 'no-answer' | 'cancelled' | 'refused' | 'exchange-down', message: string) {
    super(message);
    this.name = 'CallFailure';
  }
}
