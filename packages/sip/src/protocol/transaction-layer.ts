import type { SipLogger as Logger } from '../sip-observability.ts';
import type { SipMetrics } from '../sip-metrics.ts';
import { DEFAULT_SIP_PORT, type Peer, type SipTransport, type TransportProtocol, type TransportSink } from '../transport/sip-transport.ts';
import type { SourceLimitCause } from '../transport/source-limits.ts';
import { cseqOf, topViaOf } from '../wire/message-fields.ts';
import { serializeMessage } from '../wire/serialize-message.ts';
import { SipHeaders } from '../wire/sip-headers.ts';
import type { SipMessage, SipRequest, SipResponse } from '../wire/sip-message.ts';
import { formatHost } from '../wire/sip-uri.ts';
import { formatVia, MAGIC_COOKIE, viaBranch, type Via } from '../wire/via.ts';
import { ClientTransaction, type ClientTransactionEvents } from './client-transaction.ts';
import { createResponse } from './create-response.ts';
import type { Hop } from './hop.ts';
import { newBranch } from './identifiers.ts';
import { responseTarget, stampVia } from './response-target.ts';
import { ServerTransaction } from './server-transaction.ts';
import type { SipTimers } from './sip-timers.ts';
import type { TransactionContext } from './transaction-context.ts';

/** What sits above the transaction layer: a user agent core or a proxy core (RFC 3261 §17). */
export interface TransactionUser {
  /**
   * A new request with its server transaction; an ACK that matches no INVITE transaction
   * in Completed (the ACK for a 2xx, RFC 3261 §17.2.3) comes with none.
   */
  request(request: SipRequest, source: Peer, transaction: ServerTransaction | null): void;
  /** A response no client transaction matches: RFC 3261 §18.1.2 hands it to the core. */
  strayResponse?(response: SipResponse, source: Peer): void;
}

/** Why the layer dropped a message after it parsed. With the codec's causes, the drop counter's labels. */
export type LayerDropCause = 'via-not-ours' | 'branch-not-rfc3261' | 'no-transaction' | 'no-transport' | 'closing';

/**
 * The transaction layer (RFC 3261 §17) over the transports one element owns: it matches
 * responses to client transactions (§17.1.3) and requests to server transactions
 * (§17.2.3), absorbs retransmissions, stamps received/rport on arriving requests and
 * routes responses back by Via (§18.2), and hands everything new to its transaction user.
 * Only RFC 3261 branches (magic cookie) are matched; RFC 2543 peers are not served.
 */
export class TransactionLayer implements TransportSink {
  private readonly transports = new Map<TransportProtocol, SipTransport>();
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private user: TransactionUser | null = null;
  private closed = false;
  private readonly context: TransactionContext;

  constructor(
    readonly timers: SipTimers,
    private readonly logger: Logger,
    private readonly metrics: SipMetrics,
  ) {
    this.context = {
      timers,
      logger,
      sendBytes: (bytes, hop) => this.sendBytes(bytes, hop),
      responseHop: (response, source) => responseTarget(topViaOf(response), source),
      terminated: (t) => (t.side === 'client' ? this.clients.delete(t.key) : this.servers.delete(t.key)),
    };
  }

  attach(transport: SipTransport): void {
    this.transports.set(transport.protocol, transport);
  }

  setUser(user: TransactionUser): void {
    this.user = user;
  }

  transport(protocol: TransportProtocol): SipTransport | undefined {
    return this.transports.get(protocol);
  }

  /** Where this element listens on a transport: the sent-by of its Via (§18.1.1). */
  local(protocol: TransportProtocol): { host: string; port: number } | undefined {
    return this.transports.get(protocol)?.local;
  }

  /** Is this address one of ours (for Route and Record-Route matching, §16.4)? */
  isLocal(host: string, port: number | null, protocol?: TransportProtocol): boolean {
    for (const t of this.transports.values()) {
      if (protocol !== undefined && t.protocol !== protocol) continue;
      if (t.local.host.toLowerCase() === host.toLowerCase() && t.local.port === (port ?? DEFAULT_SIP_PORT)) return true;
    }
    return false;
  }

  // ── receiving ─────────────────────────────────────────────────

  message(message: SipMessage, source: Peer): void {
    if (this.closed) return this.drop('closing', source);
    if (message.kind === 'response') this.receiveResponse(message, source);
    else this.receiveRequest(message, source);
  }

  dropped(cause: string, peer: Peer | null, detail: string): void {
    this.metrics.dropped(cause);
    this.logger.debug({ cause, detail, source: peer ? `${peer.transport} ${peer.address}:${peer.port}` : undefined }, 'SIP input dropped');
  }

  /** Counted only: under a flood, a log line per refusal would be the flood's amplifier. */
  limited(cause: SourceLimitCause, peer: Peer): void {
    this.metrics.limited(peer.transport, cause);
  }

  /** A line proved its password in a request from `peer` (the registrar's or proxy's word): tells its transport. */
  authenticated(peer: Peer): void {
    this.transports.get(peer.transport)?.authenticated?.(peer);
  }

  private drop(cause: LayerDropCause, source: Peer, detail = ''): void {
    this.dropped(cause, source, detail);
  }

  private receiveResponse(response: SipResponse, source: Peer): void {
    const via = topViaOf(response);
    // RFC 3261 §18.1.2: "If the value does not match, the message MUST be silently discarded."
    if (!this.isLocal(via.host, via.port)) return this.drop('via-not-ours', source, `${via.host}:${via.port}`);
    const transaction = this.clients.get(`${viaBranch(via)}|${cseqOf(response).method}`);
    if (transaction) return transaction.receive(response);
    if (this.user?.strayResponse) return this.user.strayResponse(response, source);
    this.drop('no-transaction', source, `${response.status} ${cseqOf(response).method}`);
  }

  private receiveRequest(request: SipRequest, source: Peer): void {
    const via = topViaOf(request);
    const branch = viaBranch(via);
    if (branch === null || !branch.startsWith(MAGIC_COOKIE)) return this.drop('branch-not-rfc3261', source);
    request.headers.removeFirst('Via');
    request.headers.prepend('Via', formatVia(stampVia(via, source)));

    const key = serverKey(via, request.method);
    const existing = this.servers.get(key);
    if (request.method === 'ACK') {
      // §17.2.3: the ACK for a non-2xx final response matches the INVITE's transaction;
      // the ACK for a 2xx is a transaction of its own and goes to the core.
      if (existing && !existing.accepted) return existing.receiveAck();
      return this.user?.request(request, source, null);
    }
    if (existing) return existing.receiveRetransmission();

    const transaction = new ServerTransaction(this.context, key, request, source);
    this.servers.set(key, transaction);
    // §17.2.1: the INVITE server transaction "MUST generate a 100 (Trying) response unless
    // it knows that the TU will generate a provisional or final response within 200 ms".
    if (request.method === 'INVITE') transaction.respond(createResponse(request, 100));
    if (this.user) this.user.request(request, source, transaction);
  }

  /** The INVITE server transaction a CANCEL names (§9.2: same branch and sent-by, method INVITE). */
  inviteTransactionFor(cancel: SipRequest): ServerTransaction | undefined {
    const transaction = this.servers.get(serverKey(topViaOf(cancel), 'INVITE'));
    return transaction?.isInvite ? transaction : undefined;
  }

  // ── sending ───────────────────────────────────────────────────

  /** A Via for this element on the hop's transport (§8.1.1.7, §18.1.1; rport per RFC 3581 §3 over UDP). */
  via(protocol: TransportProtocol, branch: string): string {
    const local = this.transports.get(protocol)?.local;
    if (!local) throw new Error(`no ${protocol} transport`);
    return `SIP/2.0/${protocol} ${formatHost(local.host)}:${local.port};branch=${branch}${protocol === 'UDP' ? ';rport' : ''}`;
  }

  /**
   * Starts a client transaction: puts this element's Via on top of the request (a new
   * branch unless given, as CANCEL reuses the INVITE's, §9.1) and sends it to `hop`.
   */
  sendRequest(request: SipRequest, hop: Hop, events: ClientTransactionEvents, options: { branch?: string } = {}): ClientTransaction {
    request.headers.prepend('Via', this.via(hop.transport, options.branch ?? newBranch()));
    const transaction = new ClientTransaction(this.context, request, hop, events);
    if (this.closed) {
      setImmediate(() => events.transportError(new Error('transaction layer closed'), transaction));
      return transaction;
    }
    this.clients.set(transaction.key, transaction);
    transaction.start();
    return transaction;
  }

  /**
   * CANCEL for a pending INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, To, From and
   * CSeq number, method CANCEL, "a single Via header field value matching the top Via
   * value in the request being cancelled", the same Route headers, to the same hop.
   */
  cancel(invite: ClientTransaction, events: ClientTransactionEvents): ClientTransaction {
    const original = invite.request;
    const headers = new SipHeaders();
    for (const route of original.headers.getAll('Route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', original.headers.get('From')!);
    headers.append('To', original.headers.get('To')!);
    headers.append('Call-ID', original.headers.get('Call-ID')!);
    headers.append('CSeq', `${cseqOf(original).seq} CANCEL`);
    return this.sendRequest({ kind: 'request', method: 'CANCEL', uri: original.uri, headers, body: Buffer.alloc(0) }, invite.hop, events, { branch: invite.branch });
  }

  /**
   * A request outside any transaction: the ACK for a 2xx (§13.2.2.4), or one a proxy
   * forwards statelessly. Returns the bytes, for the ACK a UAC re-sends on each 2xx
   * retransmission (§13.2.2.4); send them again with `resend`.
   */
  async sendStateless(request: SipRequest, hop: Hop, branch = newBranch()): Promise<Buffer> {
    request.headers.prepend('Via', this.via(hop.transport, branch));
    const bytes = serializeMessage(request);
    await this.sendBytes(bytes, hop);
    return bytes;
  }

  async resend(bytes: Buffer, hop: Hop): Promise<void> {
    await this.sendBytes(bytes, hop);
  }

  /** A response outside its transaction: a UAS's 2xx retransmission (§13.3.1.4) or a proxy's forwarded 2xx (RFC 6026). */
  async sendResponse(response: SipResponse, source: Peer | null): Promise<void> {
    await this.sendBytes(serializeMessage(response), responseTarget(topViaOf(response), source));
  }

  private async sendBytes(bytes: Buffer, hop: Hop): Promise<void> {
    const transport = this.transports.get(hop.transport);
    if (!transport) throw new Error(`no ${hop.transport} transport to reach ${hop.host}:${hop.port}`);
    await transport.send(bytes, hop);
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: a second close waits for the first. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const t of [...this.clients.values(), ...this.servers.values()]) t.terminate();
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}

const serverKey = (via: Via, method: string): string => `${viaBranch(via)}|${via.host.toLowerCase()}:${via.port ?? DEFAULT_SIP_PORT}|${method === 'ACK' ? 'INVITE' : method}`;

