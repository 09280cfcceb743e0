import { connect, createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../wire/parse-message.ts';
import { SipStreamFramer } from '../wire/stream-framer.ts';
import type { Peer, SipTransport, Target, TransportSink } from './sip-transport.ts';

export interface TcpTransportOptions {
  readonly maxMessageSize?: number;
  /** A connection with no traffic this long is closed; RFC 3261 §18 leaves it to us. */
  readonly idleTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly maxConnections?: number;
}

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly peer: Peer;
}

const key = (host: string, port: number): string => `${host.toLowerCase()}|${port}`;

/**
 * SIP over TCP (RFC 3261 §18): a listening socket, and connections either way, framed by
 * Content-Length. Connections are indexed by id and by remote address, so that a response
 * goes back on the connection its request came on (§18.2.2: it "MUST be sent using the
 * existing connection to the source of the original request ... if that connection is
 * still open") and a request to a peer reuses an open connection to it.
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
    private readonly options: Required<TcpTransportOptions>,
  ) {}

  static listen(host: string, port: number, sink: TransportSink, options: TcpTransportOptions = {}): Promise<TcpTransport> {
    const resolved: Required<TcpTransportOptions> = {
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      maxConnections: options.maxConnections ?? 1024,
    };
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.maxConnections = resolved.maxConnections;
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

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.connections.values()) c.socket.destroy();
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
        resolve(this.attach(socket, k));
      });
    }).finally(() => this.connecting.delete(k));
    this.connecting.set(k, attempt);
    return attempt;
  }

  private attach(socket: Socket, remoteKey?: string): Connection {
    if (this.closed) {
      socket.destroy();
      return { id: 0, socket, peer: { transport: 'TCP', address: '', port: 0 } };
    }
    const id = this.nextId++;
    const peer: Peer = { transport: 'TCP', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
    const connection: Connection = { id, socket, peer };
    const k = remoteKey ?? key(peer.address, peer.port);
    this.connections.set(id, connection);
    this.byRemote.set(k, connection);
    const framer = new SipStreamFramer(this.options.maxMessageSize);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      for (const item of framer.push(chunk)) {
        if (item.kind === 'message') this.sink.message(item.message, peer);
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
      this.connections.delete(id);
      if (this.byRemote.get(k) === connection) this.byRemote.delete(k);
    });
    return connection;
  }
}
