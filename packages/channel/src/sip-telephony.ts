import type { SipLogger as Logger } from '@sideband/sip';
import { type Call, SipFailure, UserAgent } from '@sideband/sip/user-agent';
import { CallFailure, type EstablishedCall, type IncomingCall, type Telephony } from './telephony.ts';

export interface SipTelephonyOptions {
  /** Address this end's SIP listens on, on the separate network. */
  host: string;
  /** The exchange as a SIP URI, e.g. `sip:192.0.2.1:5060` or `sip:192.0.2.1:5060;transport=tcp`. */
  registrar: string;
  username: string;
  password: string;
  /** The number this end calls from. */
  lineNumber: string;
  /** The numbers it can be called on (its pool), registered at the exchange with the line number. */
  numbers: readonly string[];
  transport?: 'udp' | 'tcp';
  logger: Logger;
}

const causeOf = (e: SipFailure): CallFailure['cause'] => {
  switch (e.code) {
    case 'SIP_NUMBER_UNKNOWN': return 'number-unknown';
    case 'SIP_BUSY': return 'busy';
    case 'SIP_NO_ANSWER': return 'no-answer';
    case 'SIP_CANCELLED': return 'cancelled';
    case 'SIP_UNREACHABLE': return 'exchange-down';
    default: return 'refused';
  }
};

function established(call: Call): EstablishedCall {
  return { remoteDescription: call.facts.remoteSdp, hangup: () => call.bye(), ended: call.ended.then(() => undefined) };
}

/** The channel's telephony over SIP: one user agent, the line number and the pool registered at one exchange. */
export class SipTelephony implements Telephony {
  private handler: ((call: IncomingCall) => void) | null = null;

  private constructor(
    private readonly ua: UserAgent,
    readonly lineNumber: string,
  ) {}

  static async start(o: SipTelephonyOptions): Promise<SipTelephony> {
    const ua = new UserAgent({ host: o.host, ...(o.transport === 'tcp' ? { tcpPort: 0 } : { udpPort: 0 }), logger: o.logger });
    await ua.start();
    await ua.register([o.lineNumber, ...o.numbers], { registrar: o.registrar, username: o.username, password: o.password, expires: 600 });
    const t = new SipTelephony(ua, o.lineNumber);
    ua.onInvite = (incoming) => {
      if (!t.handler) {
        incoming.reject(480, 'Not accepting calls');
        return;
      }
      t.handler({
        dialed: incoming.dnis,
        // Without an asserted identity from the exchange, the caller is unknown: never trust From.
        caller: incoming.ani ?? '',
        offer: incoming.offer,
        accept: async (answer) => established(await incoming.accept(answer)),
        reject: async (status, reason) => incoming.reject(status, reason),
      });
    };
    return t;
  }

  async call(dialed: string, offer: string, ringTimeoutMs: number): Promise<EstablishedCall> {
    try {
      return established(await this.ua.call(dialed, { from: this.lineNumber, sdp: offer, ringTimeoutMs }));
    } catch (e) {
      if (e instanceof SipFailure) throw new CallFailure(causeOf(e), e.message);
      throw e;
    }
  }

  onIncoming(handler: (call: IncomingCall) => void): void {
    this.handler = handler;
  }

  /** Unregisters and closes; idempotent (UserAgent.stop is). */
  close(): Promise<void> {
    return this.ua.stop({ unregister: true });
  }
}
