import type { SipLogger as Logger } from '../sip-observability.ts';
import type { SipMetricsSink as Metrics } from '../sip-observability.ts';
import { createResponse } from '../protocol/create-response.ts';
import { Dialog } from '../protocol/dialog.ts';
import { newTag } from '../protocol/identifiers.ts';
import type { ServerTransaction } from '../protocol/server-transaction.ts';
import { defaultSipTimers, type SipTimers } from '../protocol/sip-timers.ts';
import { TransactionLayer, type TransactionUser } from '../protocol/transaction-layer.ts';
import { SipMetrics } from '../sip-metrics.ts';
import { TcpTransport } from '../transport/tcp-transport.ts';
import type { Peer, TransportProtocol } from '../transport/sip-transport.ts';
import { UdpTransport } from '../transport/udp-transport.ts';
import { callIdOf, fromOf, tagOf, toOf } from '../wire/message-fields.ts';
import { parseNameAddress } from '../wire/name-addr.ts';
import type { SipRequest } from '../wire/sip-message.ts';
import { formatSipUri, parseSipUri } from '../wire/sip-uri.ts';
import { uriUser } from '../wire/uri.ts';
import type { Call } from './call.ts';
import { IncomingCall } from './incoming-call.ts';
import { OutgoingCall, type CallingLine, type CallOptions } from './outgoing-call.ts';
import { hopOf } from '../protocol/hop.ts';
import { NUMBER, Registration, type RegisterOptions } from './registration.ts';
import { SipFailure } from './sip-failure.ts';
import { ALLOW, type DialogUser, type UserAgentCore } from './user-agent-core.ts';

export interface UserAgentOptions {
  /** The address to listen on and to put in Via and Contact: a concrete address, not 0.0.0.0. */
  readonly host: string;
  /** Listen on UDP at this port (0: any free one). With neither port given, both listen on free ports. */
  readonly udpPort?: number;
  readonly tcpPort?: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly timers?: Partial<SipTimers>;
  /** The User-Agent header (RFC 3261 §20.41). */
  readonly product?: string;
  /**
   * Hosts whose P-Asserted-Identity is believed (RFC 3325 §5: only from inside the trust
   * domain). The hosts of the registrars this user agent registers with are always trusted.
   */
  readonly trustedHosts?: readonly string[];
}

export interface UserAgentAddress {
  readonly udp?: { readonly host: string; readonly port: number };
  readonly tcp?: { readonly host: string; readonly port: number };
}

type Method = 'INVITE' | 'ACK' | 'BYE' | 'CANCEL' | 'OPTIONS';
type Handler = (request: SipRequest, source: Peer, transaction: ServerTransaction | null) => void;

/**
 * A SIP user agent that owns lines at an exchange (RFC 3261 §8, §10, §12-§15): it
 * registers numbers with Digest credentials, places calls from them, answers calls to
 * them, and answers OPTIONS pings.
 *
 * @example
 * const ua = new UserAgent({ host: '127.0.0.1', tcpPort: 0, logger });
 * await ua.start();
 * await ua.register(['+15550100'], { registrar: 'sip:127.0.0.1:5060;transport=tcp', username: 'shop', password });
 * ua.onInvite = (incoming) => void incoming.accept(answerSdp);
 * const call = await ua.call('+15550199', { from: '+15550100', sdp: offerSdp });
 */
export class UserAgent implements TransactionUser {
  /** Called for each new incoming call; without it, calls are refused 480. */
  onInvite: ((incoming: IncomingCall) => void) | null = null;
  private readonly core: UserAgentCore;
  private readonly layer: TransactionLayer;
  private readonly registrations: Registration[] = [];
  private readonly ringing = new Map<ServerTransaction, IncomingCall>();
  private readonly outgoing = new Set<OutgoingCall>();
  private readonly trusted: Set<string>;
  private readonly handlers: Record<Method, Handler>;
  private started = false;

  constructor(private readonly options: UserAgentOptions) {
    // The host is sent in Via and Contact (RFC 3261 §18.1.1, §8.1.1.8): a wildcard would tell peers nothing.
    if (options.host === '0.0.0.0' || options.host === '::') throw new SipFailure('SIP_INVALID_ARGUMENT', null, 'host must be a concrete address, not a wildcard');
    const timers = { ...defaultSipTimers, ...options.timers };
    const metrics = new SipMetrics(options.metrics, 'user-agent');
    this.layer = new TransactionLayer(timers, options.logger, metrics);
    this.layer.setUser(this);
    this.trusted = new Set(options.trustedHosts ?? []);
    const layer = this.layer;
    this.core = {
      layer,
      logger: options.logger,
      timers,
      metrics,
      product: options.product ?? 'Sideband',
      dialogs: new Map<string, DialogUser>(),
      contact(user: string, transport: TransportProtocol): string {
        const local = layer.local(transport)!;
        return `<${formatSipUri({ scheme: 'sip', user, password: null, host: local.host, port: local.port, params: new Map(transport === 'TCP' ? [['transport', 'tcp']] : []), headers: null })}>`;
      },
    };
    this.handlers = {
      INVITE: (r, s, t) => this.invite(r, s, t!),
      // An ACK outside any dialog (for a 2xx we no longer know) has nothing to acknowledge.
      ACK: () => undefined,
      // §12.2.2: a request that "does not match any existing dialogs" gets 481.
      BYE: (r, _s, t) => t?.respond(createResponse(r, 481)),
      CANCEL: (r, _s, t) => this.cancel(r, t!),
      OPTIONS: (r, _s, t) => t?.respond(createResponse(r, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ['User-Agent', this.core.product]] })),
    };
  }

  async start(): Promise<UserAgentAddress> {
    const { host } = this.options;
    const both = this.options.udpPort === undefined && this.options.tcpPort === undefined;
    const address: { udp?: { host: string; port: number }; tcp?: { host: string; port: number } } = {};
    if (both || this.options.udpPort !== undefined) {
      const udp = await UdpTransport.listen(host, this.options.udpPort ?? 0, this.layer);
      this.layer.attach(udp);
      address.udp = udp.local;
    }
    if (both || this.options.tcpPort !== undefined) {
      const tcp = await TcpTransport.listen(host, this.options.tcpPort ?? 0, this.layer);
      this.layer.attach(tcp);
      address.tcp = tcp.local;
    }
    this.started = true;
    return address;
  }

  /** Registers `numbers` with one registrar and keeps them registered until stop() or unregister(). */
  async register(numbers: readonly string[], options: RegisterOptions): Promise<Registration> {
    if (!this.started) throw new SipFailure('SIP_INVALID_ARGUMENT', null, 'start() the user agent first');
    const registration = await Registration.create(this.core, numbers, options);
    this.registrations.push(registration);
    this.trusted.add(registration.hop.host);
    return registration;
  }

  /**
   * Calls `dialled` from `options.from` through the exchange that number is registered
   * with. Resolves on answer (after sending the ACK); rejects with a SipFailure whose code
   * says why (SIP_NUMBER_UNKNOWN, SIP_BUSY, SIP_NO_ANSWER, SIP_CANCELLED, SIP_FORBIDDEN, ...).
   */
  call(dialled: string, options: CallOptions): Promise<Call> {
    try {
      if (!NUMBER.test(dialled)) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `number ${JSON.stringify(dialled)}`);
      if (!NUMBER.test(options.from)) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `number ${JSON.stringify(options.from)}`);
      const line = options.line ? this.lineOf(options.line) : [...this.registrations].reverse().find((r) => r.owns(options.from));
      if (!line) throw new SipFailure('SIP_NOT_REGISTERED', null, `${options.from} is not registered by this user agent`);
      const attempt = new OutgoingCall(this.core, line, dialled, options, (a) => this.outgoing.delete(a));
      this.outgoing.add(attempt);
      return attempt.start();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private lineOf(line: NonNullable<CallOptions['line']>): CallingLine {
    const registrar = parseSipUri(line.registrar);
    const hop = registrar.ok && registrar.value.user === null ? hopOf(registrar.value) : null;
    if (!registrar.ok || hop === null || !this.layer.transport(hop.transport)) throw new SipFailure('SIP_INVALID_ARGUMENT', null, `line registrar ${line.registrar}`);
    this.trusted.add(hop.host);
    return { registrar: registrar.value, hop, account: { username: line.username, password: line.password } };
  }

  /**
   * Hangs up every call, removes every registration (each bounded to a few round trips;
   * `unregister: false` leaves them to expire), and closes the transports. Idempotent: a
   * second stop waits for the first.
   */
  stop(options: { unregister?: boolean } = {}): Promise<void> {
    return (this.stopping ??= this.shutDown(options));
  }

  private stopping: Promise<void> | null = null;

  private async shutDown(options: { unregister?: boolean }): Promise<void> {
    const calls = [...this.core.dialogs.values()].filter((d): d is Call => 'bye' in d);
    const bounded = (work: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 4 * this.core.timers.T1)))]).finally(() => clearTimeout(timer));
    };
    for (const incoming of [...this.ringing.values()]) incoming.reject(480);
    for (const attempt of [...this.outgoing]) attempt.abandon();
    const unregister = options.unregister ?? true;
    await Promise.all([...calls.map((c) => bounded(c.bye())), ...(unregister ? this.registrations.map((r) => bounded(r.unregister())) : [])]);
    for (const r of this.registrations) r.stop();
    await this.layer.close();
  }

  // ── requests ──────────────────────────────────────────────────

  request(request: SipRequest, source: Peer, transaction: ServerTransaction | null): void {
    const toTag = tagOf(toOf(request));
    // §12.2.2: a request with a To tag belongs to a dialog (CANCEL keeps the INVITE's To).
    if (toTag !== null && request.method !== 'CANCEL') {
      const dialog = this.core.dialogs.get(Dialog.idOf(callIdOf(request), toTag, tagOf(fromOf(request)) ?? ''));
      if (dialog) return dialog.handleRequest(request, transaction);
      if (request.method === 'ACK') return;
      return transaction?.respond(createResponse(request, 481));
    }
    // Own keys only: a method named "constructor" must not find Object's.
    const handler = Object.hasOwn(this.handlers, request.method) ? this.handlers[request.method as Method] : undefined;
    // RFC 3261 §8.2.1: an unsupported method gets 405; "The UAS MUST also add an Allow header field".
    if (!handler) return transaction?.respond(createResponse(request, 405, { headers: [['Allow', ALLOW]] }));
    handler(request, source, transaction);
  }

  /** RFC 3261 §8.2, §13.3: checks an initial INVITE, rings, and asks the application. */
  private invite(request: SipRequest, source: Peer, transaction: ServerTransaction): void {
    const refuse = (status: number, reason?: string, headers?: [string, string][]) =>
      transaction.respond(createResponse(request, status, { ...(reason ? { reason } : {}), ...(headers ? { headers } : {}) }));
    const uri = parseSipUri(request.uri);
    if (!uri.ok || uri.value.user === null) return refuse(404, 'No Number In Request-URI');
    // §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field, it MUST respond by generating a response with status code 420".
    const required = request.headers.getAll('Require');
    if (required.length > 0) return refuse(420, undefined, [['Unsupported', required.join(', ')]]);
    // §8.2.3: an unsupported body gets 415 with Accept.
    const type = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.body.length > 0 && type !== 'application/sdp') return refuse(415, undefined, [['Accept', 'application/sdp']]);
    if (request.body.length === 0) return refuse(488, 'SDP Offer Required');
    if (!parseNameAddress(request.headers.getAll('Contact')[0] ?? '').ok) return refuse(400, 'Contact Missing Or Invalid');
    // §8.1.1.3: the From "MUST contain a new "tag" parameter"; without it no dialog can be formed.
    if (tagOf(fromOf(request)) === null) return refuse(400, 'From Tag Missing');

    const toTag = newTag();
    transaction.respond(createResponse(request, 180, { toTag, headers: [['Contact', this.core.contact(uri.value.user, source.transport)]] }));
    const incoming = new IncomingCall(this.core, transaction, toTag, {
      dnis: uri.value.user,
      ani: this.assertedIdentity(request, source),
      fromUser: uriUser(fromOf(request).uri),
      callId: callIdOf(request),
      offer: request.body.toString('utf8'),
      source,
      headers: request.headers,
    }, () => this.ringing.delete(transaction));
    if (!this.onInvite) return incoming.reject(480, 'No Answering Application');
    this.ringing.set(transaction, incoming);
    try {
      this.onInvite(incoming);
    } catch (e) {
      this.options.logger.error({ err: e }, 'onInvite handler threw; refusing the call');
      incoming.reject(500);
    }
  }

  /** RFC 3325 §9.1: believed only when it comes from a trusted host (§5). */
  private assertedIdentity(request: SipRequest, source: Peer): string | null {
    if (!this.trusted.has(source.address)) return null;
    for (const value of request.headers.getAll('P-Asserted-Identity')) {
      const address = parseNameAddress(value);
      if (address.ok) return uriUser(address.value.uri);
    }
    return null;
  }

  /**
   * RFC 3261 §9.2: answer the CANCEL 200 if it matches a pending INVITE (481 if not), then
   * end that INVITE with 487.
   */
  private cancel(request: SipRequest, transaction: ServerTransaction): void {
    const invite = this.layer.inviteTransactionFor(request);
    if (!invite) return transaction.respond(createResponse(request, 481));
    transaction.respond(createResponse(request, 200));
    this.ringing.get(invite)?.cancel();
  }
}
