import { newCallId, newTag } from '../protocol/identifiers.ts';
import { hopOf, type Hop } from '../protocol/hop.ts';
import { SipHeaders } from '../wire/sip-headers.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { parseNameAddress } from '../wire/name-addr.ts';
import { formatSipUri, parseSipUri, type SipUri } from '../wire/sip-uri.ts';
import { answerChallenge, ProxyCredentialCache, type Account } from './answer-challenge.ts';
import { SipFailure } from './sip-failure.ts';
import { requestFinal, type UserAgentCore } from './user-agent-core.ts';

export interface RegisterOptions {
  /** The registrar as a SIP URI: `sip:192.0.2.1:5060`, `sip:192.0.2.1:5060;transport=tcp`. */
  readonly registrar: string;
  readonly username: string;
  readonly password: string;
  /** Seconds asked for (RFC 3261 §10.2.1.1); the registrar may grant less. 3600 unless given. */
  readonly expires?: number;
}

/** A number as Sideband accepts it for an address-of-record user part: digits, "+" first, "*" and "#". */
export const NUMBER = /^\+?[0-9*#]{1,32}$/;

/**
 * The bindings of one user agent's numbers at one registrar (RFC 3261 §10.2): one
 * address-of-record `sip:NUMBER@registrar-host` per number, each REGISTERed with the same
 * Call-ID and a rising CSeq (§10.2: "A UA SHOULD use the same Call-ID for all registrations
 * during a single boot cycle"), answered 401 with Digest, and refreshed before it expires.
 * The credentials also answer the exchange's 407 when the user agent calls from one of
 * these numbers.
 */
export class Registration {
  private readonly bindings: Binding[];
  /** Calls from these numbers answer the exchange's INVITE challenge before it is made (outgoing-call.ts). */
  readonly proxyCredentials = new ProxyCredentialCache();
  private stopped = false;

  private constructor(
    private readonly core: UserAgentCore,
    readonly numbers: readonly string[],
    readonly registrar: SipUri,
    readonly hop: Hop,
    readonly account: Account,
    private readonly expires: number,
  ) {
    this.bindings = numbers.map((number) => new Binding(core, this, number));
  }

  static async create(core: UserAgentCore, numbers: readonly string[], options: RegisterOptions): Promise<Registration> {
    const registrar = parseSipUri(options.registrar);
    const hop = registrar.ok && registrar.value.user === null ? hopOf(registrar.value) : null;
    if (!registrar.ok || hop === null) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `registrar ${options.registrar} is not sip:host[:port][;transport=udp|tcp]`);
    if (core.layer.transport(hop.transport) === undefined) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `the user agent does not listen on ${hop.transport}`);
    for (const n of numbers) if (!NUMBER.test(n)) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `number ${JSON.stringify(n)}`);
    const expires = options.expires ?? 3600;
    if (!Number.isInteger(expires) || expires < 1 || expires > 2 ** 31 - 1) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `expires ${expires}`);
    const registration = new Registration(core, numbers, registrar.value, hop, { username: options.username, password: options.password }, expires);
    try {
      await Promise.all(registration.bindings.map((b) => b.register(expires)));
    } catch (e) {
      registration.stop();
      throw e;
    }
    return registration;
  }

  /** The domain of the addresses-of-record: the registrar's host (RFC 3261 §10.2: "To ... contains the address of record"). */
  get domain(): string {
    return this.registrar.host;
  }

  owns(number: string): boolean {
    return this.numbers.includes(number);
  }

  /** When the earliest binding runs out, if not refreshed. */
  get expiresAt(): Date {
    return new Date(Math.min(...this.bindings.map((b) => b.expiresAt)));
  }

  refreshDelay(granted: number): number {
    return this.stopped ? -1 : (granted > 120 ? granted - 60 : granted / 2) * 1000;
  }

  get expiresAsked(): number {
    return this.expires;
  }

  /** Removes the bindings (RFC 3261 §10.2.2: Expires 0). */
  async unregister(): Promise<void> {
    this.stop();
    await Promise.all(this.bindings.map((b) => b.register(0)));
  }

  /** Stops refreshing, leaving the bindings to expire at the registrar. */
  stop(): void {
    this.stopped = true;
    for (const b of this.bindings) b.stop();
  }
}

class Binding {
  private readonly callId: string;
  private readonly tag = newTag();
  private cseq = 1;
  private timer: NodeJS.Timeout | null = null;
  expiresAt = 0;

  constructor(
    private readonly core: UserAgentCore,
    private readonly registration: Registration,
    private readonly number: string,
  ) {
    this.callId = newCallId(core.layer.local(registration.hop.transport)!.host);
  }

  async register(expires: number): Promise<void> {
    let authorization: { header: string; value: string } | null = null;
    let response: SipResponse;
    // One answer to a challenge, and one more only if the registrar says the nonce was
    // merely stale (RFC 2617 §3.2.1): a second plain 401 means the password is wrong.
    for (let attempt = 0; ; attempt++) {
      response = await requestFinal(this.core.layer, this.request(expires, authorization), this.registration.hop);
      if (response.status !== 401 && response.status !== 407) break;
      const answer = answerChallenge(response, { method: 'REGISTER', uri: formatSipUri(this.registration.registrar) }, this.registration.account);
      if (answer === null || attempt >= 2 || (attempt === 1 && !answer.challenge.stale)) throw new SipFailure('SIP_UNAUTHENTICATED', response.status, `REGISTER ${this.number}: ${response.status} ${response.reason}`);
      authorization = answer;
    }
    if (response.status >= 300) throw SipFailure.fromStatus(response.status, `REGISTER ${this.number}: ${response.reason}`);
    if (expires === 0) return;
    const granted = this.granted(response, expires);
    this.expiresAt = Date.now() + granted * 1000;
    const delay = this.registration.refreshDelay(granted);
    if (delay < 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.register(this.registration.expiresAsked).catch((e: Error) => {
        this.core.logger.warn({ err: e, number: this.number }, 'SIP registration refresh failed; retrying');
        this.timer = setTimeout(() => void this.register(this.registration.expiresAsked).catch(() => undefined), Math.min(30_000, delay));
      });
    }, delay);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private request(expires: number, authorization: { header: string; value: string } | null): SipRequest {
    const { registration } = this;
    const aor = `<${formatSipUri({ ...registration.registrar, user: this.number, port: null, params: new Map(), headers: null })}>`;
    const headers = new SipHeaders()
      .append('Max-Forwards', '70')
      .append('From', `${aor};tag=${this.tag}`)
      .append('To', aor)
      .append('Call-ID', this.callId)
      .append('CSeq', `${this.cseq++} REGISTER`)
      .append('Contact', this.core.contact(this.number, registration.hop.transport))
      .append('Expires', String(expires))
      .append('User-Agent', this.core.product);
    if (authorization) headers.append(authorization.header, authorization.value);
    // RFC 3261 §10.2: 'The "userinfo" and "@" components of the SIP URI MUST NOT be present' in the Request-URI.
    return { kind: 'request', method: 'REGISTER', uri: formatSipUri(registration.registrar), headers, body: Buffer.alloc(0) };
  }

  /**
   * RFC 3261 §10.2.4: the registrar's 200 lists every binding of the AOR with its expiry;
   * ours is the Contact with our URI. Failing that, the Expires header, then what we asked.
   */
  private granted(response: SipResponse, asked: number): number {
    const ours = parseNameAddress(this.core.contact(this.number, this.registration.hop.transport));
    for (const value of response.headers.getAll('Contact')) {
      const c = parseNameAddress(value);
      if (!c.ok || !ours.ok || c.value.uri.scheme === 'tel' || ours.value.uri.scheme === 'tel') continue;
      const a = c.value.uri;
      const b = ours.value.uri;
      if (a.user === b.user && a.host === b.host && a.port === b.port) {
        const e = Number(c.value.params.get('expires'));
        if (Number.isInteger(e) && e > 0) return e;
      }
    }
    const header = Number(response.headers.get('Expires'));
    return Number.isInteger(header) && header > 0 ? header : asked;
  }
}
