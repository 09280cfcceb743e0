import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { createResponse, DigestAuthenticator, type ServerTransaction, defaultSipTimers, type SipTimers, TransactionLayer, type TransactionUser } from '@sideband/sip/protocol';
import { SipMetrics } from '@sideband/sip';
import { SourceGuard, TcpTransport, type Peer, UdpTransport } from '@sideband/sip/transport';
import { cseqOf, tagOf, toOf, type SipRequest, type SipResponse, formatHost } from '@sideband/sip/wire';
import { CallLedger } from './call-ledger.ts';
import type { CallDetailRecordSink } from './call-detail-record-sink.ts';
import { CallRouter } from './call-router.ts';
import { DialogRouter } from './dialog-router.ts';
import { toSourceLimits } from './exchange-limits.ts';
import { validateExchangeStart, type ExchangeStartInput } from './exchange-options.ts';
import { InMemoryCallDetailRecordSink } from './in-memory-call-detail-record-sink.ts';
import { LineDirectory } from './line-directory.ts';
import { LocationService } from './location-service.ts';
import { Registrar } from './registrar.ts';

export interface ExchangeOptions {
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Where call detail records go; an InMemoryCallDetailRecordSink unless given. */
  readonly cdrSink?: CallDetailRecordSink;
  /** The Digest realm (RFC 2617 §3.2.1); "sideband" unless given. */
  readonly realm?: string;
  readonly timers?: Partial<SipTimers>;
  readonly nonceLifetimeSeconds?: number;
  /** Registrations shorter than this are refused 423 (60 s unless given), longer ones capped at maxExpires (3600 s). */
  readonly minExpires?: number;
  readonly maxExpires?: number;
  /** How long the callee has to answer at all (100 Trying) before the caller gets 480; 4 s unless given. */
  readonly noResponseTimeoutMs?: number;
  /** Timer C (RFC 3261 §16.6: "MUST be larger than 3 minutes"): 181 s unless given. */
  readonly ringTimeoutMs?: number;
}

export interface ExchangeAddress {
  readonly host: string;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Registrar URIs to hand to user agents. */
  readonly udpUri: string;
  readonly tcpUri: string;
  readonly realm: string;
}

type Method = 'REGISTER' | 'INVITE' | 'ACK' | 'BYE' | 'CANCEL' | 'OPTIONS';
type Handler = (request: SipRequest, source: Peer, transaction: ServerTransaction | null) => void;

const ALLOW = 'REGISTER, INVITE, ACK, BYE, CANCEL, OPTIONS';

/**
 * The exchange the secure channel's calls go through: a registrar (RFC 3261 §10.3) with
 * Digest authentication against configured lines, and a record-routing stateful proxy
 * (§16) that asserts the caller's number to the callee (RFC 3325) and writes a call
 * detail record for every authenticated call attempt. It listens on UDP and TCP on its
 * own address, inside the gateway or alone, under per-source limits (`limits`, a
 * SourceGuard): a TCP connection on which a line authenticates keeps its place, others
 * have little time and share what the reserve leaves.
 *
 * @example
 * const exchange = new Exchange({ logger, cdrSink });
 * const at = await exchange.start({ host: '127.0.0.1', udpPort: 5060, tcpPort: 5060, lines: [
 *   { username: 'provider', password, numbers: ['+15550100'] },
 *   { username: 'shop', password, numbers: ['+15550199', '+18005550199'], reverseCharge: ['+18005550199'] },
 * ] });
 * // user agents register with at.udpUri or at.tcpUri
 */
export class Exchange implements TransactionUser {
  readonly cdrSink: CallDetailRecordSink;
  private readonly metrics: SipMetrics;
  private readonly timers: SipTimers;
  private readonly location = new LocationService();
  private layer: TransactionLayer | null = null;
  private callRouter: CallRouter | null = null;
  private dialogRouter: DialogRouter | null = null;
  private ledger: CallLedger | null = null;
  private registrar: Registrar | null = null;
  private guard: SourceGuard | null = null;
  private readonly handlers: Record<Method, Handler>;

  constructor(private readonly options: ExchangeOptions) {
    this.cdrSink = options.cdrSink ?? new InMemoryCallDetailRecordSink();
    this.metrics = new SipMetrics(options.metrics, 'exchange');
    this.timers = { ...defaultSipTimers, ...options.timers };
    const connections = 'sideband_sip_exchange_connections';
    if (options.metrics && !options.metrics.registry.getSingleMetric(connections)) {
      options.metrics.gauge(connections, 'TCP connections open at the exchange, and how many of them no line has authenticated on', ['kind'], (g) => {
        g.set({ kind: 'open' }, this.guard?.connections.open ?? 0);
        g.set({ kind: 'unauthenticated' }, this.guard?.connections.unauthenticated ?? 0);
      });
    }
    this.handlers = {
      REGISTER: (r, s, t) => this.registrar!.register(r, s, t!),
      INVITE: (r, s, t) => this.callRouter!.invite(r, s, t!),
      CANCEL: (r, _s, t) => this.callRouter!.cancel(r, t!),
      // RFC 3261 §11.2: OPTIONS to the exchange itself, the user agents' keep-alive.
      OPTIONS: (r, _s, t) => t?.respond(createResponse(r, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] })),
      // An ACK or BYE outside any dialog: nothing to acknowledge; §12.2.2 says 481 to the BYE.
      ACK: () => undefined,
      BYE: (r, _s, t) => t?.respond(createResponse(r, 481)),
    };
  }

  async start(input: ExchangeStartInput): Promise<ExchangeAddress> {
    if (this.layer) throw new Error('exchange already started');
    const options = validateExchangeStart(input);
    const { logger } = this.options;
    const realm = this.options.realm ?? 'sideband';
    const layer = new TransactionLayer(this.timers, logger, this.metrics);
    // One guard for both transports: a source's message rate is its own over UDP and TCP together.
    const guard = new SourceGuard(toSourceLimits(options.limits));
    this.guard = guard;
    const udp = await UdpTransport.listen(options.host, options.udpPort, layer, undefined, guard);
    const tcp = await TcpTransport.listen(options.host, options.tcpPort, layer, { guard }).catch(async (e: unknown) => {
      await udp.close();
      throw e;
    });
    layer.attach(udp);
    layer.attach(tcp);
    const lines = new LineDirectory(options.lines);
    const authenticator = new DigestAuthenticator({ realm, nonceLifetimeMs: (this.options.nonceLifetimeSeconds ?? 300) * 1000 });
    this.ledger = new CallLedger(this.cdrSink, logger, this.metrics);
    this.registrar = new Registrar(authenticator, lines, this.location, { minExpires: this.options.minExpires ?? 60, maxExpires: this.options.maxExpires ?? 3600, transports: new Set(['UDP', 'TCP']), authenticated: (peer) => layer.authenticated(peer) }, logger);
    this.callRouter = new CallRouter(layer, authenticator, lines, this.location, this.ledger, { noResponseTimeoutMs: this.options.noResponseTimeoutMs ?? 4000, ringTimeoutMs: this.options.ringTimeoutMs ?? 181_000 }, logger);
    this.dialogRouter = new DialogRouter(layer, this.ledger, logger);
    layer.setUser(this);
    this.layer = layer;
    const host = formatHost(options.host);
    logger.info({ udp: udp.local, tcp: tcp.local, lines: options.lines.length }, 'SIP exchange listening');
    return { host: options.host, udpPort: udp.local.port, tcpPort: tcp.local.port, udpUri: `sip:${host}:${udp.local.port}`, tcpUri: `sip:${host}:${tcp.local.port};transport=tcp`, realm };
  }

  /** Stops listening; calls still up are recorded as released by the exchange. */
  async stop(): Promise<void> {
    this.callRouter?.stop();
    this.ledger?.flush();
    await this.layer?.close();
    this.layer = null;
  }

  /** The current bindings, for the operator and tests. */
  registrations(): { number: string; contact: string; username: string; expiresAt: Date }[] {
    return this.location.all().map((b) => ({ number: b.number, contact: b.contact, username: b.username, expiresAt: new Date(b.expiresAt) }));
  }

  request(request: SipRequest, source: Peer, transaction: ServerTransaction | null): void {
    const reply = (status: number, reason?: string, headers?: [string, string][]) => transaction?.respond(createResponse(request, status, { ...(reason ? { reason } : {}), ...(headers ? { headers } : {}) }));
    // RFC 3261 §16.3 step 3: "If the Max-Forwards value is zero (0), the element MUST NOT
    // forward the request. If the request was for OPTIONS, the element MAY act as the final
    // recipient and respond per Section 11. Otherwise, the element MUST return a 483".
    if (request.headers.get('Max-Forwards') === '0') {
      if (request.method === 'OPTIONS') return this.handlers.OPTIONS(request, source, transaction);
      return request.method === 'ACK' ? undefined : reply(483);
    }
    // §16.3 step 2: "If the Request-URI has a URI whose scheme is not understood by the proxy, the proxy SHOULD reject the request with a 416".
    if (!/^sip:/i.test(request.uri)) return request.method === 'ACK' ? undefined : reply(416);
    // §16.4: Route values naming the exchange are consumed before anything else.
    const routedHere = this.dialogRouter!.popOwnRoutes(request) > 0;
    if (tagOf(toOf(request)) !== null && request.method !== 'CANCEL') return this.dialogRouter!.route(request, transaction, routedHere);
    // Own keys only: a method named "constructor" must not find Object's.
    const handler = Object.hasOwn(this.handlers, request.method) ? this.handlers[request.method as Method] : undefined;
    if (!handler) return reply(405, undefined, [['Allow', ALLOW]]);
    handler(request, source, transaction);
  }

  /**
   * RFC 3261 §16.7: a response that matches no client transaction is forwarded statelessly
   * only if it is a 2xx to INVITE (RFC 6026: retransmissions after Timer M); any
   * other is dropped.
   */
  strayResponse(response: SipResponse, source: Peer): void {
    if (response.status < 200 || response.status >= 300 || cseqOf(response).method !== 'INVITE' || response.headers.getAll('Via').length < 2) {
      return this.layer?.dropped('no-transaction', source, `${response.status} ${cseqOf(response).method}`);
    }
    const headers = response.headers.clone();
    headers.removeFirst('Via');
    this.layer?.sendResponse({ ...response, headers }, null).catch(() => undefined);
  }
}
