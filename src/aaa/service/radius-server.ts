import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { timingSafeEqual } from 'node:crypto';
import type { Counter, Histogram } from 'prom-client';
import { errorRegistry, type ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { verifyAccountingRequestAuthenticator } from '../protocol/accounting-request-authenticator.ts';
import { chapPasswordMalformed, verifyChapPassword } from '../protocol/chap-password.ts';
import { encodeResponse } from '../protocol/encode-response.ts';
import { portBlockAttributes, readPortRanges } from '../protocol/ip-port-range.ts';
import { verifyMessageAuthenticator } from '../protocol/message-authenticator.ts';
import { recoverUserPassword } from '../protocol/user-password.ts';
import type { EventTimeRejection } from '../protocol/accounting-event-time.ts';
import { AcctTerminateCause } from '../wire/attribute-values.ts';
import { decodePacket } from '../wire/decode-packet.ts';
import type { AttributeInput } from '../wire/encode-packet.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { AccountingService } from './accounting-service.ts';
import { ResponseCache } from './response-cache.ts';
import { PortRangeReports } from './port-range-reports.ts';
import type { LoginAttempt, LoginThrottle } from './login-throttle.ts';
import { RequestAdmission, type AdmissionDecision, type AdmissionLimits } from './request-admission.ts';
import type { NasClient, NasDirectory } from './nas-directory.ts';
import type { AccountingFacts, SessionService } from './session-service.ts';
import type { SubscriberDirectory } from './subscriber-directory.ts';

export interface RadiusServerOptions {
  host: string;
  authPort: number;
  acctPort: number;
  interimIntervalSeconds: number;
  /** Accounting dated further back than this is dropped (`acct-delay-time-too-long`, `event-timestamp-too-old`). */
  maxAccountingDelaySeconds: number;
  /** An Event-Timestamp further ahead of our clock than this is dropped (`event-timestamp-ahead`). */
  maxClockAheadSeconds: number;
  /** Per-NAS token buckets and the bound on requests in progress (request-admission.ts). */
  admission: AdmissionLimits;
}

/** Why a request was dropped after decoding; with the codec's causes, the drop counter's labels. */
type ServiceDropCause =
  | 'unknown-client'
  | 'wrong-port'
  | 'message-authenticator-missing'
  | 'message-authenticator-invalid'
  | 'request-authenticator-invalid'
  | 'user-name-missing'
  | 'password-malformed'
  | 'credentials-missing'
  | 'status-type-missing'
  | 'duplicate-in-progress'
  | 'over-rate'
  | 'overloaded'
  | 'text-invalid'
  | 'reply-too-large'
  | 'internal-error'
  | EventTimeRejection;

/** Text attributes the gateway stores: each must be storable as text (no NUL). */
const STORED_TEXT = ['User-Name', 'Acct-Session-Id', 'NAS-Identifier', 'Calling-Station-Id', 'Called-Station-Id', 'NAS-Port-Id'] as const;

/** Every datagram from a registered NAS, by what became of it: its per-NAS request accounting. */
type NasOutcome = AdmissionDecision | 'invalid' | 'retransmission';

type Handler = (request: RadiusPacket, nas: NasClient) => Promise<Buffer | null>;

/** Where a request came from: a datagram's source, or the peer of a RadSec connection. */
export type RequestSource = Pick<RemoteInfo, 'address' | 'port'>;

/**
 * Which requests a transport takes: a UDP port one kind (RFC 2865, RFC 2866), a RadSec
 * connection both (RFC 6614 §2.1: one port for authentication and accounting).
 */
export type RequestKinds = 'Access-Request' | 'Accounting-Request' | 'both';

const terminateCauseNames = new Map<number, string>(Object.entries(AcctTerminateCause).map(([name, value]) => [value, name]));

const gigawords = (low: number | undefined, high: number | undefined): number | null => (low === undefined ? null : (high ?? 0) * 2 ** 32 + low);

/**
 * The authentication server (the seed's server 53): Access-Request on one UDP socket
 * (RFC 2865), Accounting-Request on another (RFC 2866). Every reply is sent only after
 * what it reports is durable; every dropped datagram is counted by cause.
 */
export class RadiusServer {
  private auth: Socket | null = null;
  private acct: Socket | null = null;
  private readonly cache = new ResponseCache(30_000, 100_000);
  private closing = false;
  private readonly requests: Counter<'kind' | 'result'>;
  private readonly dropped: Counter<'cause'>;
  private readonly retransmits: Counter<'kind'>;
  private readonly byNas: Counter<'nas' | 'outcome'>;
  private readonly admission: RequestAdmission;
  private readonly lastShedWarning = new Map<string, number>();
  private readonly latency: Histogram<'kind'>;
  private readonly handlers: Record<'Access-Request' | 'Accounting-Request', Handler>;
  private readonly accountingService: AccountingService;
  private readonly portRanges: PortRangeReports;

  constructor(
    private readonly options: RadiusServerOptions,
    private readonly nas: NasDirectory,
    private readonly subscribers: SubscriberDirectory,
    private readonly sessions: SessionService,
    private readonly throttle: LoginThrottle,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.requests = metrics.counter('sideband_radius_requests_total', 'RADIUS requests answered, by kind and result', ['kind', 'result']);
    this.dropped = metrics.counter('sideband_radius_dropped_total', 'RADIUS datagrams dropped without an answer, by cause', ['cause']);
    this.retransmits = metrics.counter('sideband_radius_retransmissions_total', 'Retransmitted requests answered from the cache', ['kind']);
    this.byNas = metrics.counter('sideband_radius_nas_requests_total', 'RADIUS requests from registered NAS clients, by NAS and outcome (admitted within or over its rate, shed, invalid, retransmission)', ['nas', 'outcome']);
    this.admission = new RequestAdmission(options.admission);
    metrics.gauge('sideband_radius_pending_requests', 'Admitted RADIUS requests not yet answered', [], (g) => g.set(this.admission.pending));
    this.latency = metrics.histogram('sideband_radius_request_seconds', 'Time from datagram to reply', ['kind'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    metrics.gauge('sideband_radius_open_sessions', 'Sessions not yet closed', [], (g) => g.set(this.sessions.openSessions));
    metrics.gauge('sideband_pool_units', 'Address pool units by state', ['pool', 'state'], (g) => {
      for (const p of this.sessions.poolUsage()) {
        g.set({ pool: p.pool, state: 'held' }, p.held);
        g.set({ pool: p.pool, state: 'size' }, p.size);
      }
    });
    this.handlers = { 'Access-Request': (r, n) => this.access(r, n), 'Accounting-Request': (r, n) => this.accounting(r, n) };
    this.portRanges = new PortRangeReports(sessions, logger, metrics);
    this.accountingService = new AccountingService(sessions, { maxDelayMs: options.maxAccountingDelaySeconds * 1000, maxAheadMs: options.maxClockAheadSeconds * 1000 }, logger, metrics);
  }

  async listen(): Promise<{ auth: string; acct: string }> {
    const family = this.options.host.includes(':') ? 'udp6' : 'udp4';
    const bind = (port: number, expected: 'Access-Request' | 'Accounting-Request') =>
      new Promise<Socket>((resolve, reject) => {
        const socket = createSocket({ type: family, recvBufferSize: 8 * 1024 * 1024 });
        socket.once('error', reject);
        socket.on('message', (msg, rinfo) => this.receive(socket, msg, rinfo, expected));
        socket.bind(port, this.options.host, () => {
          socket.off('error', reject);
          socket.on('error', (e) => this.logger.error({ err: e }, 'RADIUS socket error'));
          resolve(socket);
        });
      });
    this.auth = await bind(this.options.authPort, 'Access-Request');
    this.acct = await bind(this.options.acctPort, 'Accounting-Request');
    const where = (s: Socket) => `${this.options.host.includes(':') ? `[${s.address().address}]` : s.address().address}:${s.address().port}`;
    return { auth: where(this.auth), acct: where(this.acct) };
  }

  /** Counts (and logs at debug) a request dropped without an answer; RadSec counts its framing faults here too. */
  drop(cause: string, rinfo: RequestSource, detail?: Record<string, unknown>): void {
    this.dropped.inc({ cause });
    this.logger.debug({ cause, source: `${rinfo.address}:${rinfo.port}`, ...detail }, 'RADIUS datagram dropped');
  }

  /**
   * Counted, but logged at most once per NAS per 10 s: a line per shed datagram would turn
   * a flood of requests into a flood of log lines.
   */
  private shed(cause: 'over-rate' | 'overloaded', nas: NasClient): void {
    this.dropped.inc({ cause });
    const now = Date.now();
    if (now - (this.lastShedWarning.get(nas.id) ?? -Infinity) < 10_000) return;
    this.lastShedWarning.set(nas.id, now);
    this.logger.warn({ nas: nas.name, cause, pending: this.admission.pending }, 'RADIUS server saturated; shedding requests from this NAS');
  }

  private receive(socket: Socket, msg: Buffer, rinfo: RemoteInfo, expected: 'Access-Request' | 'Accounting-Request'): void {
    const nas = this.nas.lookup(rinfo.address);
    // RFC 2865 §3: "A request from a client for which the RADIUS server does not have a
    // shared secret MUST be silently discarded."
    if (!nas) return this.drop('unknown-client' satisfies ServiceDropCause, rinfo);
    void this.handle(msg, rinfo, nas, expected, (reply) => this.send(socket, reply, rinfo));
  }

  /**
   * One request from a known NAS, whatever carried it: decoded, answered from the cache
   * or authenticated, admitted and handled; `respond` gets the reply, if there is one.
   * Never throws: every failure is a counted drop.
   */
  async handle(msg: Buffer, rinfo: RequestSource, nas: NasClient, kinds: RequestKinds, respond: (reply: Buffer) => void): Promise<void> {
    const started = process.hrtime.bigint();
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.drop(decoded.cause, rinfo, { nas: nas.name });
    const request = decoded.packet;
    // RFC 6614 §2.1 carries both kinds on one port; Status-Server there is answered as on
    // the authentication port (RFC 5997 §4).
    if (request.code === 'Status-Server') return this.statusServer(request, nas, rinfo, kinds === 'both' ? 'Access-Request' : kinds, respond);
    const expected = kinds === 'both' && (request.code === 'Access-Request' || request.code === 'Accounting-Request') ? request.code : kinds;
    if (request.code !== expected) return this.drop('wrong-port' satisfies ServiceDropCause, rinfo, { code: request.code });

    // A retransmission is answered from the cache (RFC 5080 §2.2.2) before admission: it is
    // no new work and charges nothing to its NAS's rate.
    const key = this.cache.key(nas.id, rinfo, request);
    const cached = this.cache.get(key);
    if (cached) this.byNas.inc({ nas: nas.name, outcome: 'retransmission' satisfies NasOutcome });
    if (cached === 'pending') return this.drop('duplicate-in-progress' satisfies ServiceDropCause, rinfo);
    if (cached) {
      this.retransmits.inc({ kind: expected });
      respond(cached);
      return;
    }
    // RFC 5080 §2.2 practice: shed what is unauthenticated first. These checks are a hash
    // over the datagram, nothing more; a forged packet charges nothing to the NAS it names.
    const unauthenticated = this.authenticate(request, nas, expected);
    if (unauthenticated) {
      this.byNas.inc({ nas: nas.name, outcome: 'invalid' satisfies NasOutcome });
      return this.drop(unauthenticated, rinfo, { nas: nas.name });
    }
    // PostgreSQL cannot store NUL in text; a NAS that sends one in what we keep is answered nothing.
    if (STORED_TEXT.some((name) => request.text(name)?.includes('\u0000'))) {
      this.byNas.inc({ nas: nas.name, outcome: 'invalid' satisfies NasOutcome });
      return this.drop('text-invalid' satisfies ServiceDropCause, rinfo, { nas: nas.name });
    }
    const decision = this.admission.admit(nas.id);
    this.byNas.inc({ nas: nas.name, outcome: decision });
    if (decision === 'shed-over-rate' || decision === 'shed-overloaded') return this.shed(decision === 'shed-over-rate' ? 'over-rate' : 'overloaded', nas);
    this.cache.begin(key);
    let reply: Buffer | null = null;
    try {
      reply = await this.handlers[expected](request, nas);
    } catch (e) {
      if (e instanceof RangeError && /exceed \d+ octets/.test(e.message)) {
        // The peer's own Proxy-States leave no room for the reply (RFC 2865 §3: 4096 octets).
        this.logger.warn({ nas: nas.name, kind: expected }, 'RADIUS reply would exceed 4096 octets with the request\'s Proxy-State attributes; no answer sent');
        this.dropped.inc({ cause: 'reply-too-large' satisfies ServiceDropCause });
      } else {
        this.logger.error({ err: e, nas: nas.name, kind: expected }, 'RADIUS request failed; no answer sent');
        this.dropped.inc({ cause: 'internal-error' satisfies ServiceDropCause });
      }
    } finally {
      this.admission.done();
    }
    if (!reply) {
      this.cache.abandon(key);
      return;
    }
    this.cache.finish(key, reply);
    if (!this.closing) respond(reply);
    this.latency.observe({ kind: expected }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** A reply finished after close() has nowhere to go; it must not throw out of the handler. */
  private send(socket: Socket, reply: Buffer, rinfo: RemoteInfo): void {
    if (this.closing) return;
    try {
      socket.send(reply, rinfo.port, rinfo.address);
    } catch (e) {
      this.logger.warn({ err: e }, 'RADIUS reply not sent');
    }
  }

  /**
   * RFC 5997: a NAS asks whether the server is alive. "Status-Server packets … MUST
   * contain a Message-Authenticator" (§3); the answer on the authentication port is an
   * Access-Accept, on the accounting port an Accounting-Response (§4). Not cached: each is
   * answered afresh, as §3 asks.
   */
  private statusServer(request: RadiusPacket, nas: NasClient, rinfo: RequestSource, port: 'Access-Request' | 'Accounting-Request', respond: (reply: Buffer) => void): void {
    if (verifyMessageAuthenticator(request, nas.secret) !== 'valid') return this.drop('message-authenticator-invalid' satisfies ServiceDropCause, rinfo, { code: request.code });
    this.requests.inc({ kind: 'Status-Server', result: 'alive' });
    respond(encodeResponse({ request, code: port === 'Access-Request' ? 'Access-Accept' : 'Accounting-Response', secret: nas.secret }));
  }

  /**
   * `told` is what the NAS (and so the subscriber's device) reads in Reply-Message; `code`
   * is what the operator's log and metrics keep. They differ for an unknown login and a
   * wrong password, which the NAS must not be able to tell apart (no user enumeration).
   */
  private reject(request: RadiusPacket, nas: NasClient, code: ErrorCode, login: string, told: ErrorCode = code): Buffer {
    this.requests.inc({ kind: 'Access-Request', result: code });
    // A throttled guess is counted above; a line for each would let the guesser fill the log.
    this.logger[code === 'AAA_THROTTLED' ? 'debug' : 'info']({ nas: nas.name, login, code }, 'Access-Reject');
    return encodeResponse({ request, code: 'Access-Reject', secret: nas.secret, attributes: [{ name: 'Reply-Message', value: `${errorRegistry[told].cause} (${told})` }] });
  }

  /** Why the request is not authentic, or null; run before admission, so cheap by design. */
  private authenticate(request: RadiusPacket, nas: NasClient, kind: 'Access-Request' | 'Accounting-Request'): ServiceDropCause | null {
    if (kind === 'Accounting-Request') {
      // RFC 2866 §3: the Request Authenticator is an MD5 over the packet and the secret; a
      // mismatch means a wrong secret or a forged packet, silently discarded.
      if (!verifyAccountingRequestAuthenticator(request, nas.secret)) return 'request-authenticator-invalid';
      return verifyMessageAuthenticator(request, nas.secret) === 'invalid' ? 'message-authenticator-invalid' : null;
    }
    // BlastRADIUS (CVE-2024-3596): a NAS must sign every Access-Request unless its
    // operator relaxed that for it; a wrong signature is always a silent discard.
    const ma = verifyMessageAuthenticator(request, nas.secret);
    if (ma === 'invalid') return 'message-authenticator-invalid';
    if (ma === 'absent' && nas.requireMessageAuthenticator) return 'message-authenticator-missing';
    return null;
  }

  private async access(request: RadiusPacket, nas: NasClient): Promise<Buffer | null> {
    const rinfo = { address: nas.name, port: 0 } as RemoteInfo;

    const login = request.text('User-Name');
    if (!login) return this.dropAndNull('user-name-missing', rinfo);
    const now = Date.now();
    const callingStationId = request.text('Calling-Station-Id') ?? null;
    // Counted per calling station and per login on this NAS (see LoginThrottle).
    const throttled: LoginAttempt = { login, nasId: nas.id, callingStationId };
    // Counted before the lookup and the password check, which wait: guesses sent together
    // would otherwise all pass the throttle before the first of them failed.
    const attempt = this.throttle.admit(throttled, now);
    if (!attempt) return this.reject(request, nas, 'AAA_THROTTLED', login);

    let subscriber;
    try {
      const hidden = request.octets('User-Password');
      const chap = request.has('CHAP-Password');
      if (!hidden && !chap) return this.dropAndNull('credentials-missing', rinfo);
      let pap: string | null = null;
      if (hidden) {
        const recovered = recoverUserPassword(hidden, nas.secret, request.authenticator);
        if (!recovered.ok) return this.dropAndNull('password-malformed', rinfo);
        pap = recovered.password;
      }
      // Before the lookup, as PAP's: dropping it only for a known login would tell which logins exist.
      if (chap && chapPasswordMalformed(request)) return this.dropAndNull('password-malformed', rinfo);

      subscriber = await this.subscribers.get(login, now);
      if (!subscriber) {
        attempt.fail(now);
        return this.reject(request, nas, 'AAA_LOGIN_UNKNOWN', login, 'AAA_CREDENTIALS_REJECTED');
      }
      const cleartext = await this.subscribers.password(subscriber);
      let valid: boolean;
      if (chap) valid = cleartext !== null && verifyChapPassword(request, cleartext) === 'valid';
      else if (cleartext) {
        const given = Buffer.from(pap!, 'utf8');
        valid = given.length === cleartext.length && timingSafeEqual(given, cleartext);
      } else valid = await this.subscribers.verifyHash(subscriber, pap!);
      if (!valid) {
        attempt.fail(now);
        return this.reject(request, nas, 'AAA_PASSWORD_WRONG', login, 'AAA_CREDENTIALS_REJECTED');
      }
      attempt.succeed();
    } finally {
      // Dropped, or the check threw: no answer on the password, so nothing counted.
      attempt.abandon();
    }
    if (subscriber.status !== 'active') return this.reject(request, nas, 'AAA_SUBSCRIBER_SUSPENDED', login);
    if (subscriber.secondsRemaining !== null && subscriber.secondsRemaining <= 0) return this.reject(request, nas, 'AAA_QUOTA_EXHAUSTED', login);
    if (subscriber.spendingExhausted) return this.reject(request, nas, 'AAA_SPENDING_EXHAUSTED', login);

    let authorized;
    try {
      authorized = await this.sessions.authorize({
        subscriberId: subscriber.id, login, nasId: nas.id, poolId: nas.poolId, framedIpv6PoolId: nas.framedIpv6PoolId, delegatedIpv6PoolId: nas.delegatedIpv6PoolId,
        framedInterfaceId: request.octets('Framed-Interface-Id')?.toString('hex') ?? null, nasPort: request.integer('NAS-Port') ?? null, nasPortId: request.text('NAS-Port-Id') ?? null,
        nasIdentifier: request.text('NAS-Identifier') ?? null, nasIpAddress: request.ipv4('NAS-IP-Address') ?? null, callingStationId, sessionTimeout: subscriber.secondsRemaining, now,
      });
    } catch (e) {
      if (e instanceof SidebandError && e.code === 'AAA_POOL_EXHAUSTED') return this.reject(request, nas, 'AAA_POOL_EXHAUSTED', login);
      throw e;
    }
    const attributes: AttributeInput[] = [];
    if (authorized.unit) attributes.push({ name: 'Framed-IP-Address', value: authorized.unit.address });
    // RFC 3162 §2.3: the link's prefix, for router advertisements; RFC 4818 §3: the prefix delegated by DHCPv6-PD.
    if (authorized.framedIpv6Prefix) attributes.push({ name: 'Framed-IPv6-Prefix', value: authorized.framedIpv6Prefix.openKey });
    if (authorized.delegatedIpv6Prefix) attributes.push({ name: 'Delegated-IPv6-Prefix', value: authorized.delegatedIpv6Prefix.openKey });
    // RFC 8045 §3.2, §3.1: the NAT is told which port block resolution answers by.
    if (authorized.unit && authorized.unit.portFirst !== null && authorized.unit.portLast !== null) attributes.push(...portBlockAttributes({ externalAddress: authorized.unit.address, first: authorized.unit.portFirst, last: authorized.unit.portLast }));
    if (subscriber.secondsRemaining !== null) attributes.push({ name: 'Session-Timeout', value: subscriber.secondsRemaining });
    if (this.options.interimIntervalSeconds > 0) attributes.push({ name: 'Acct-Interim-Interval', value: this.options.interimIntervalSeconds });
    attributes.push({ name: 'Class', value: Buffer.from(authorized.classValue, 'utf8') });
    this.requests.inc({ kind: 'Access-Request', result: 'accept' });
    this.logger.debug({ nas: nas.name, login, session: authorized.sessionId, address: authorized.unit?.address, reused: authorized.reused }, 'Access-Accept');
    return encodeResponse({ request, code: 'Access-Accept', secret: nas.secret, attributes });
  }

  private dropAndNull(cause: ServiceDropCause, rinfo: RequestSource): null {
    this.drop(cause, rinfo);
    return null;
  }

  private async accounting(request: RadiusPacket, nas: NasClient): Promise<Buffer | null> {
    const rinfo = { address: nas.name, port: 0 } as RemoteInfo;
    const status = request.integer('Acct-Status-Type');
    if (status === undefined) return this.dropAndNull('status-type-missing', rinfo);
    const classOctets = request.octets('Class');
    const cause = request.integer('Acct-Terminate-Cause');
    const facts: AccountingFacts = {
      nasId: nas.id,
      login: request.text('User-Name') ?? null,
      classValue: classOctets ? classOctets.toString('utf8') : null,
      acctSessionId: request.text('Acct-Session-Id') ?? null,
      nasIdentifier: request.text('NAS-Identifier') ?? null,
      nasIpAddress: request.ipv4('NAS-IP-Address') ?? null,
      nasPort: request.integer('NAS-Port') ?? null,
      nasPortId: request.text('NAS-Port-Id') ?? null,
      framedAddress: request.ipv4('Framed-IP-Address') ?? null,
      sessionTime: request.integer('Acct-Session-Time') ?? null,
      // RFC 2869 §5.1–5.2: Acct-Input/Output-Gigawords count the 2^32 wraps.
      inputOctets: gigawords(request.integer('Acct-Input-Octets'), request.integer('Acct-Input-Gigawords')),
      outputOctets: gigawords(request.integer('Acct-Output-Octets'), request.integer('Acct-Output-Gigawords')),
      terminateCause: cause === undefined ? null : terminateCauseNames.get(cause) ?? String(cause),
      callingStationId: request.text('Calling-Station-Id') ?? null,
      framedIpv6Address: request.ipv6('Framed-IPv6-Address') ?? null,
      framedIpv6Prefix: request.ipv6Prefix('Framed-IPv6-Prefix') ?? null,
      delegatedIpv6Prefix: request.ipv6Prefix('Delegated-IPv6-Prefix') ?? null,
      framedInterfaceId: request.octets('Framed-Interface-Id')?.toString('hex') ?? null,
    };
    const eventTimestamp = request.time('Event-Timestamp');
    const answer = await this.accountingService.handle({ statusType: status, facts, eventTimestamp: eventTimestamp ? Math.floor(eventTimestamp.getTime() / 1000) : null, acctDelayTime: request.integer('Acct-Delay-Time') ?? null });
    if (!answer.answered) return this.dropAndNull(answer.cause, rinfo);
    // RFC 8045 §3.2: the port ranges the NAT allocated or released for this session.
    const portRanges = readPortRanges(request);
    if (answer.outcome && portRanges.ranges.length + portRanges.faults.length > 0) await this.portRanges.apply(answer.outcome.sessionId, nas, portRanges, answer.at);
    const result = answer.result;
    this.requests.inc({ kind: 'Accounting-Request', result });
    return encodeResponse({ request, code: 'Accounting-Response', secret: nas.secret, withoutMessageAuthenticator: nas.overTls === true });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.auth, this.acct].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : undefined)));
    this.auth = null;
    this.acct = null;
  }
}
