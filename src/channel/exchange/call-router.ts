import type { Logger } from '../../observability/logger.ts';
import { type ClientTransaction, createResponse, type DigestAuthenticator, formatDigestChallenge, parseDigestCredentials, type ServerTransaction, type TransactionLayer } from '@sideband/sip/protocol';
import type { Peer, TransportProtocol } from '@sideband/sip/transport';
import { callIdOf, fromOf, tagOf, toOf, type SipRequest, type SipResponse, formatHost, parseSipUri, uriUser } from '@sideband/sip/wire';
import type { CallLedger, CallSetup, LedgerCall } from './call-ledger.ts';
import type { LineDirectory } from './line-directory.ts';
import type { LocationService } from './location-service.ts';
import { forwardedCopy, upstreamCopy } from './proxy-messages.ts';

export interface CallRouterOptions {
  /** The callee's element must answer (100 or more) within this long, or the caller gets 480. */
  readonly noResponseTimeoutMs: number;
  /** Timer C (RFC 3261 §16.6 step 11): unanswered this long, the call is CANCELled and the caller gets 408. */
  readonly ringTimeoutMs: number;
}

/** One INVITE the exchange is proxying: its two transactions and where it stands. */
interface ProxiedCall {
  readonly server: ServerTransaction;
  client: ClientTransaction | null;
  readonly ledger: LedgerCall;
  provisional: boolean;
  cancelRequested: boolean;
  cancelSent: boolean;
  final: boolean;
  readonly timers: NodeJS.Timeout[];
}

/**
 * The exchange's proxy core for calls (RFC 3261 §16): an initial INVITE is authenticated
 * (407 + Digest), its From number checked against the authenticated line (403), the dialled
 * number looked up in the location service (404), and the INVITE forwarded statefully to
 * the newest contact with a P-Asserted-Identity (RFC 3325 §9.1) and Record-Route (§16.6
 * step 4), so that the BYE passes the exchange too. Responses come back through the
 * server transaction; CANCEL is answered and passed on (§16.10).
 */
export class CallRouter {
  private readonly pending = new Map<ServerTransaction, ProxiedCall>();

  constructor(
    private readonly layer: TransactionLayer,
    private readonly authenticator: DigestAuthenticator,
    private readonly lines: LineDirectory,
    private readonly location: LocationService,
    private readonly ledger: CallLedger,
    private readonly options: CallRouterOptions,
    private readonly logger: Logger,
  ) {}

  invite(request: SipRequest, source: Peer, server: ServerTransaction): void {
    const reply = (status: number, options: Parameters<typeof createResponse>[2] = {}) => server.respond(createResponse(request, status, options));
    // RFC 3261 §8.1.1.3: the From of a request outside a dialog "MUST contain a new "tag"
    // parameter"; the call's record and its dialog are keyed by it.
    const from = fromOf(request);
    if (tagOf(from) === null) return reply(400, { reason: 'From Tag Missing' });

    // §22.3: a proxy challenges with 407 and Proxy-Authenticate; credentials for other realms are not ours.
    const credentials = request.headers.getAll('Proxy-Authorization').map(parseDigestCredentials).find((c) => c.ok && c.value.realm === this.authenticator.realm);
    if (!credentials?.ok) return reply(407, { headers: [['Proxy-Authenticate', formatDigestChallenge(this.authenticator.challenge())]] });
    const verified = this.authenticator.verify(credentials.value, { method: 'INVITE', uri: request.uri }, (u) => this.lines.password(u));
    if (!verified.ok) {
      this.logger.info({ username: credentials.value.username, reason: verified.reason, source: `${source.address}:${source.port}` }, 'SIP INVITE authentication refused');
      return reply(407, { headers: [['Proxy-Authenticate', formatDigestChallenge(this.authenticator.challenge(verified.stale))]] });
    }
    this.layer.authenticated(source);

    const callerNumber = uriUser(from.uri) ?? '';
    const uri = parseSipUri(request.uri);
    const calledNumber = (uri.ok ? uri.value.user : null) ?? '';
    const owner = this.lines.ownerOf(calledNumber);
    const setup: CallSetup = {
      callId: callIdOf(request),
      callerTag: tagOf(from)!,
      callerNumber,
      calledNumber,
      callerLine: verified.username,
      calleeLine: owner?.username ?? null,
      reverseCharge: this.lines.isReverseCharge(calledNumber),
      startedAt: new Date(),
    };

    // The caller's number is what the callee will be told (P-Asserted-Identity), so it must
    // be one of the authenticated line's numbers.
    if (!this.lines.owns(verified.username, callerNumber)) {
      this.logger.info({ username: verified.username, claimed: callerNumber }, 'SIP INVITE from a number the line does not own');
      reply(403, { reason: 'Not Your Number' });
      return this.ledger.refused(setup, 403);
    }
    const binding = this.location.lookup(calledNumber)[0];
    if (!binding) {
      reply(404, { reason: owner ? 'Not Registered' : 'Unknown Number' });
      return this.ledger.refused(setup, 404);
    }
    const outbound = binding.hop.transport;
    if (!this.layer.transport(outbound)) {
      reply(480);
      return this.ledger.refused(setup, 480, 'unreachable');
    }

    const forwarded = forwardedCopy(request, binding.contact);
    // §22.3: credentials "MUST NOT be consumed by any proxy whose realm does not match"; ours are consumed here.
    const foreign = forwarded.headers.getAll('Proxy-Authorization').filter((v) => {
      const c = parseDigestCredentials(v);
      return !(c.ok && c.value.realm === this.authenticator.realm);
    });
    forwarded.headers.delete('Proxy-Authorization');
    for (const v of foreign) forwarded.headers.append('Proxy-Authorization', v);
    // RFC 3325 §5: the exchange is the trust domain's edge, so whatever identity the caller
    // asserted is replaced by the one it authenticated.
    forwarded.headers.delete('P-Asserted-Identity');
    forwarded.headers.append('P-Asserted-Identity', `<sip:${callerNumber}@${formatHost(this.layer.local(source.transport)!.host)}>`);
    // §16.6 step 4 and RFC 5658: one Record-Route per side when the transports differ, so
    // each endpoint reaches the exchange on the transport it used.
    if (source.transport !== outbound) forwarded.headers.prepend('Record-Route', this.recordRoute(source.transport));
    forwarded.headers.prepend('Record-Route', this.recordRoute(outbound));

    const call: ProxiedCall = { server, client: null, ledger: this.ledger.begin(setup), provisional: false, cancelRequested: false, cancelSent: false, final: false, timers: [] };
    this.pending.set(server, call);
    call.client = this.layer.sendRequest(forwarded, binding.hop, {
      response: (response) => this.fromCallee(call, response),
      timeout: () => this.unreachable(call, 'no response'),
      transportError: (e) => this.unreachable(call, e.message),
    });
    call.timers.push(setTimeout(() => {
      if (!call.provisional && !call.final) this.unreachable(call, `no response within ${this.options.noResponseTimeoutMs} ms`);
    }, this.options.noResponseTimeoutMs));
    // §16.8: when Timer C fires after a provisional response, "the proxy MUST generate a
    // CANCEL request matching that transaction"; the caller is told 408 at once.
    call.timers.push(setTimeout(() => {
      if (call.final) return;
      call.cancelRequested = true;
      this.sendCancel(call);
      this.finish(call, createResponse(request, 408, { reason: 'No Answer' }), 'no-answer');
    }, this.options.ringTimeoutMs));
  }

  /** RFC 3261 §16.10: answer the CANCEL, then cancel the forwarded INVITE. */
  cancel(request: SipRequest, server: ServerTransaction): void {
    const invite = this.layer.inviteTransactionFor(request);
    if (!invite) return server.respond(createResponse(request, 481));
    server.respond(createResponse(request, 200));
    const call = this.pending.get(invite);
    if (!call || call.final) return;
    call.cancelRequested = true;
    // §9.1: no CANCEL before a provisional response; until one arrives, the request waits.
    if (call.provisional) this.sendCancel(call);
  }

  stop(): void {
    for (const call of this.pending.values()) for (const t of call.timers) clearTimeout(t);
    this.pending.clear();
  }

  private fromCallee(call: ProxiedCall, response: SipResponse): void {
    // §16.7 step 5: provisional responses other than 100 (Trying) are forwarded upstream
    // at once; the 100 stays here, as the exchange sent the caller its own.
    if (response.status < 200) {
      call.provisional = true;
      if (call.cancelRequested) this.sendCancel(call);
      if (response.status > 100 && !call.final) call.server.respond(upstreamCopy(response));
      return;
    }
    if (response.status < 300) {
      const upstream = upstreamCopy(response);
      if (!call.final) {
        this.ledger.answered(call.ledger, tagOf(toOf(response)));
        this.finish(call, upstream, null);
      } else {
        // RFC 6026: each 2xx retransmission is forwarded, outside the finished transaction.
        this.layer.sendResponse(upstream, call.server.source).catch(() => undefined);
      }
      return;
    }
    if (call.final) return;
    // §16.7 step 6: a 503 is not passed upstream as it is (it would say the exchange itself
    // is unavailable); a 500 goes instead.
    const upstream = response.status === 503 ? createResponse(call.server.request, 500, { reason: 'Callee Unavailable' }) : upstreamCopy(response);
    this.finish(call, upstream, call.cancelRequested && response.status === 487 ? 'cancelled' : undefined);
  }

  private unreachable(call: ProxiedCall, detail: string): void {
    if (call.final) return;
    this.logger.info({ callId: call.ledger.callId, detail }, 'SIP callee unreachable');
    call.client?.terminate();
    if (call.cancelRequested) return this.finish(call, createResponse(call.server.request, 487), 'cancelled');
    this.finish(call, createResponse(call.server.request, 480, { reason: 'Callee Unreachable' }), 'unreachable');
  }

  private sendCancel(call: ProxiedCall): void {
    if (!call.client || call.cancelSent || !call.client.hasProvisional || call.client.terminated) return;
    call.cancelSent = true;
    const ignore = () => undefined;
    this.layer.cancel(call.client, { response: ignore, timeout: ignore, transportError: ignore });
  }

  /** Sends the caller its final response; a 2xx has `outcome` null: the ledger keeps it until the BYE. */
  private finish(call: ProxiedCall, response: SipResponse, outcome: Parameters<CallLedger['failed']>[2] | null | undefined): void {
    call.final = true;
    for (const t of call.timers) clearTimeout(t);
    this.pending.delete(call.server);
    call.server.respond(response);
    if (outcome !== null) this.ledger.failed(call.ledger, response.status, outcome);
  }

  private recordRoute(transport: TransportProtocol): string {
    const local = this.layer.local(transport)!;
    return `<sip:${formatHost(local.host)}:${local.port}${transport === 'TCP' ? ';transport=tcp' : ''};lr>`;
  }
}
