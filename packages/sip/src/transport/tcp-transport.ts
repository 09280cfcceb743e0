import { connect, createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../wire/parse-message.ts';
import { SipStreamFramer } from '../wire/stream-framer.ts';
import type { Peer, SipTransport, Target, TransportSink } from './sip-transport.ts';
import type { SourceGuard } from './source-guard.ts';
import type { SourceLimitCause } from './source-limits.ts';

export interface TcpTransportOptions {
  readonly maxMessageSize?: number;
  /** A connection with no traffic this long is closed; RFC 3261 §18 leaves it to us. A guard's idleTimeoutMs replaces it. */
  readonly idleTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Connections accepted at most; a guard's maxConnections replaces it. */
  readonly maxConnections?: number;
  /** Per-source limits for an element that faces many peers (the exchange); a user agent needs none. */
  readonly guard?: SourceGuard;
}

interface ResolvedOptions {
  readonly maxMessageSize: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly guard: SourceGuard | null;
}

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly peer: Peer;
  readonly outbound: boolean;
  readonly openedAt: number;
  /** The guard's first-request or authentication deadline, while one runs. */
  deadline: NodeJS.Timeout | null;
}

const key = (host: string, port: number): string => `${host.toLowerCase()}|${port}`;

/**
 * SIP over TCP (RFC 3261 §18): a listening socket, and connections either way, framed by
 * Content-Length. Connections are indexed by id and by remote address, so that a response
 * goes back on the connection its request came on (§18.2.2: it "MUST be sent using the
 * existing connection to the source of the original request ... if that connection is
 * still open") and a request to a peer reuses an open connection to it. With a guard,
 * inbound connections are admitted by source (ConnectionAdmission), must send a request
 * within firstRequestTimeoutMs and authenticate a line within authenticationTimeoutMs, and
 * each message takes a token from its address's bucket; what the guard refuses or closes
 * is reported to the sink's `limited`.
 */
export class TcpTransport implements SipTransport {
  readonly protocol = 'TCP' as const;
  private readonly connections = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  private readonly connecting = new Map<string, Promise<Connection>>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly local: { host: string; port: number },
    private readonly sink: TransportSink,
    private readonly options: ResolvedOptions,
  ) {}

  static listen(host: string, port: number, sink: TransportSink, options: TcpTransportOptions = {}): Promise<TcpTransport> {
    const guard = options.guard ?? null;
    const resolved: ResolvedOptions = {
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      idleTimeoutMs: guard?.limits.idleTimeoutMs ?? options.idleTimeoutMs ?? 300_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      maxConnections: guard?.limits.maxConnections ?? options.maxConnections ?? 1024,
      guard,
    };
    return new Promise((resolve, reject) => {
      const server = createServer();
      // Node drops connections past maxConnections before anyone sees them; a guard must
      // see each one, to evict an unauthenticated connection for it.
      if (guard === null) server.maxConnections = resolved.maxConnections;
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        const transport = new TcpTransport(server, { host, port: typeof address === 'object' && address ? address.port : port }, sink, resolved);
        server.on('connection', (socket) => transport.attach(socket));
        server.on('error', (e) => sink.dropped('socket-error', null, e.message));
        resolve(transport);
      });
    });
  }

  async send(bytes: Buffer, to: Target): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    const open = (to.connectionId === undefined ? undefined : this.connections.get(to.connectionId)) ?? this.byRemote.get(key(to.host, to.port));
    const connection = open ?? (await this.connect(to.host, to.port));
    await new Promise<void>((resolve, reject) => connection.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: a second close waits for the first. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const c of this.connections.values()) {
      this.disarm(c);
      c.socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connect(host: string, port: number): Promise<Connection> {
    const k = key(host, port);
    const pending = this.connecting.get(k);
    if (pending) return pending;
    const attempt = new Promise<Connection>((resolve, reject) => {
      const socket = connect({ host, port, localAddress: this.local.host, timeout: this.options.connectTimeoutMs });
      const fail = (e: Error) => {
        socket.destroy();
        reject(e);
      };
      socket.once('error', fail);
      socket.once('timeout', () => fail(new Error(`TCP connect to ${host}:${port} timed out`)));
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.removeAllListeners('timeout');
        const connection = this.attach(socket, k);
        if (connection) resolve(connection);
        else reject(new Error('transport closed'));
      });
    }).finally(() => this.connecting.delete(k));
    this.connecting.set(k, attempt);
    return attempt;
  }

  /** A line authenticated on `peer`'s connection: the guard stops its deadlines, never evicts it, and gives its address the line rate. */
  authenticated(peer: Peer): void {
    this.options.guard?.lineAuthenticatedFrom(peer.address);
    const connection = peer.connectionId === undefined ? undefined : this.connections.get(peer.connectionId);
    if (connection && this.options.guard?.connections.authenticated(connection.id)) this.disarm(connection);
  }

  /** `remoteKey` is given for connections we open (outbound); null when the connection was not kept. */
  private attach(socket: Socket, remoteKey?: string): Connection | null {
    if (this.closed) {
      socket.destroy();
      return null;
    }
    const { guard } = this.options;
    const outbound = remoteKey !== undefined;
    const id = this.nextId++;
    const peer: Peer = { transport: 'TCP', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
    if (guard) {
      const admission = guard.connections.admit(id, peer.address, outbound);
      if (!admission.admitted) {
        this.sink.limited?.(admission.cause, peer);
        socket.on('error', () => undefined);
        socket.resetAndDestroy();
        return null;
      }
      if (admission.evict !== null) this.closeFor(admission.evict, 'connection-evicted');
    }
    const connection: Connection = { id, socket, peer, outbound, openedAt: Date.now(), deadline: null };
    const k = remoteKey ?? key(peer.address, peer.port);
    this.connections.set(id, connection);
    this.byRemote.set(k, connection);
    const framer = new SipStreamFramer(this.options.maxMessageSize);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => (guard ? this.closeFor(id, 'idle-timeout') : socket.destroy()));
    if (guard && !outbound) this.arm(connection, 'first-request-timeout', guard.limits.firstRequestTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      for (const item of framer.push(chunk)) {
        if (socket.destroyed) return;
        if (item.kind === 'message') {
          if (guard && !outbound) {
            if (!guard.allowMessage(peer.address)) {
              this.sink.limited?.('rate-limited', peer);
              continue;
            }
            // Before the sink sees it: a request that authenticates disarms the new deadline.
            if (item.message.kind === 'request' && guard.connections.requested(id)) {
              this.arm(connection, 'authentication-timeout', connection.openedAt + guard.limits.authenticationTimeoutMs - Date.now());
            }
          }
          this.sink.message(item.message, peer);
        }
        // RFC 5626 §3.5.1: a CRLFCRLF ping is answered with a single CRLF pong.
        else if (item.kind === 'keep-alive') socket.write('\r\n');
        else {
          this.sink.dropped(item.failure.cause, peer, item.failure.detail);
          if (item.fatal) socket.destroy();
        }
      }
    });
    socket.on('error', (e) => this.sink.dropped('connection-error', peer, e.message));
    socket.on('close', () => {
      this.disarm(connection);
      guard?.connections.closed(id);
      this.connections.delete(id);
      if (this.byRemote.get(k) === connection) this.byRemote.delete(k);
    });
    return connection;
  }

  private arm(connection: Connection, cause: SourceLimitCause, ms: number): void {
    this.disarm(connection);
    connection.deadline = setTimeout(() => this.closeFor(connection.id, cause), Math.max(0, ms));
  }

  private disarm(connection: Connection): void {
    if (connection.deadline) clearTimeout(connection.deadline);
    connection.deadline = null;
  }

  /** Closes a connection for one of the guard's reasons, and says so. */
  private closeFor(id: number, cause: SourceLimitCause): void {
    const connection = this.connections.get(id);
    if (!connection) return;
    this.disarm(connection);
    // At once, not on 'close': the connection it makes room for is admitted right after.
    this.options.guard?.connections.closed(id);
    this.sink.limited?.(cause, connection.peer);
    connection.socket.destroy();
  }
}
