import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Counter } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { RadiusStreamReader } from '../wire/radius-stream-reader.ts';
import type { NasClient, NasDirectory } from './nas-directory.ts';
import type { RadiusServer } from './radius-server.ts';
import { identifyRadsecPeer, presentedCertificate, refusalCodes, type RadsecRefusal } from './radsec-peer.ts';

export interface RadsecOptions {
  host: string;
  port: number;
  /** PEM: the gateway's certificate (chain) and key, and the CA(s) NAS certificates may be issued by. */
  certificate: Buffer;
  key: Buffer;
  ca: Buffer;
  /** A connection with no request for this long is closed. */
  idleTimeoutMs: number;
  /** The TLS handshake must finish within this. */
  handshakeTimeoutMs: number;
  /** Connections open at once; more are refused at accept. */
  maxConnections: number;
  /** Requests one connection may have in progress; past it the connection is not read until one is answered. */
  maxPendingPerConnection: number;
}

/** RFC 6614 §2.3 item 4: "the shared secret … is 'radsec'". */
export const RADSEC_SHARED_SECRET = Buffer.from('radsec', 'utf8');

type ConnectionOutcome = 'accepted' | RadsecRefusal | 'handshake-failed' | 'too-many-connections';
type CloseCause = 'malformed-frame' | 'idle' | 'nas-changed' | 'peer' | 'gateway-stopping';

/**
 * RADIUS over TLS (RFC 6614) on TCP (2083 by default): TLS 1.2 or later, the NAS
 * authenticated by its certificate (`radsec-peer.ts`), then the same request handling as
 * UDP (`RadiusServer.handle`) for Access-, Accounting- and Status-Server requests framed
 * by their Length fields. A framing fault closes that connection alone; every refusal and
 * close is counted and logged.
 */
export class RadsecListener {
  private server: Server | null = null;
  private readonly sockets = new Set<TLSSocket>();
  /** How each connection being served is closed with its cause. */
  private readonly closers = new Map<TLSSocket, (why: CloseCause) => void>();
  private readonly connections: Counter<'outcome'>;
  private readonly closed: Counter<'cause'>;
  private lastForcedReload = 0;
  private lastTooManyWarning = 0;

  constructor(
    private readonly options: RadsecOptions,
    private readonly nas: NasDirectory,
    private readonly radius: RadiusServer,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.connections = metrics.counter('sideband_radsec_connections_total', 'RadSec (RADIUS over TLS) connections by outcome: accepted, or why refused', ['outcome']);
    this.closed = metrics.counter('sideband_radsec_closed_total', 'Accepted RadSec connections closed, by cause', ['cause']);
    metrics.gauge('sideband_radsec_open_connections', 'RadSec connections open', [], (g) => g.set(this.sockets.size));
  }

  async listen(): Promise<string> {
    const o = this.options;
    const server = createServer({ cert: o.certificate, key: o.key, ca: o.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', handshakeTimeout: o.handshakeTimeoutMs }, (socket) => void this.accept(socket));
    server.maxConnections = o.maxConnections;
    server.on('drop', (data) => {
      this.connections.inc({ outcome: 'too-many-connections' satisfies ConnectionOutcome });
      if (Date.now() - this.lastTooManyWarning < 10_000) return;
      this.lastTooManyWarning = Date.now();
      this.logger.warn({ source: data?.remoteAddress, open: this.sockets.size, max: o.maxConnections }, 'RadSec connection refused: radsec.maxConnections are open');
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      this.connections.inc({ outcome: 'handshake-failed' satisfies ConnectionOutcome });
      this.logger.info({ source: socket.remoteAddress, code: err.code, reason: err.message }, 'RadSec handshake failed');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        server.on('error', (e) => this.logger.error({ err: e }, 'RadSec listener error'));
        resolve();
      });
    });
    this.server = server;
    const a = server.address() as { address: string; port: number };
    return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  private async accept(socket: TLSSocket): Promise<void> {
    const source = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    const port = socket.remotePort ?? 0;
    socket.on('error', (e: NodeJS.ErrnoException) => this.logger.debug({ source: `${source}:${port}`, code: e.code }, 'RadSec connection error'));
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));

    const cert = presentedCertificate(socket);
    let peer = identifyRadsecPeer(cert, source, this.nas.all, new Date());
    // A NAS registered since the last load (by the command line, on SQLite where nothing
    // announces it) is served on its first connection; reloading is bounded to once a second.
    if (!peer.ok && peer.refusal === 'certificate-unregistered' && Date.now() - this.lastForcedReload > 1000) {
      this.lastForcedReload = Date.now();
      await this.nas.reload();
      peer = identifyRadsecPeer(cert, source, this.nas.all, new Date());
    }
    if (!peer.ok) {
      this.connections.inc({ outcome: peer.refusal });
      this.logger.warn(
        { source: `${source}:${port}`, refusal: peer.refusal, code: refusalCodes[peer.refusal], fingerprint: cert?.fingerprint ?? null, subject: cert?.subject ?? null, notAfter: cert?.notAfter.toISOString() ?? null, nas: peer.nas },
        'RadSec connection refused',
      );
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    this.connections.inc({ outcome: 'accepted' satisfies ConnectionOutcome });
    this.logger.info({ source: `${source}:${port}`, nas: peer.nas.name, by: peer.by, protocol: socket.getProtocol() }, 'RadSec connection accepted');
    this.serve(socket, peer.nas, { address: source, port });
  }

  private serve(socket: TLSSocket, registered: NasClient, from: { address: string; port: number }): void {
    // The NAS as this connection sees it: RFC 6614's fixed secret; TLS, not the
    // Message-Authenticator, protects the request (BlastRADIUS needs an on-path forger).
    const nas: NasClient = { ...registered, secret: RADSEC_SHARED_SECRET, requireMessageAuthenticator: false, overTls: true };
    const reader = new RadiusStreamReader();
    let pending = 0;
    let cause: CloseCause = 'peer';
    const close = (why: CloseCause) => {
      cause = why;
      socket.destroy();
    };
    this.closers.set(socket, close);
    socket.once('close', () => {
      this.closers.delete(socket);
      this.closed.inc({ cause });
    });
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      this.logger.info({ source: `${from.address}:${from.port}`, nas: nas.name }, 'RadSec connection idle; closed');
      close('idle');
    });
    socket.on('data', (chunk: Buffer) => {
      // A NAS removed, or its certificate changed, since it connected is served no more.
      const now = this.nas.byId(nas.id);
      if (!now || now.tlsFingerprint !== registered.tlsFingerprint || now.tlsName !== registered.tlsName) {
        this.logger.info({ source: `${from.address}:${from.port}`, nas: nas.name }, 'RadSec connection closed: its NAS client was removed or changed');
        return close('nas-changed');
      }
      const { packets, fault } = reader.push(chunk);
      for (const packet of packets) {
        pending += 1;
        if (pending >= this.options.maxPendingPerConnection) socket.pause();
        void this.radius
          .handle(packet, from, nas, 'both', (reply) => {
            if (!socket.destroyed) socket.write(reply);
          })
          .finally(() => {
            pending -= 1;
            if (socket.isPaused() && pending < this.options.maxPendingPerConnection && !socket.destroyed) socket.resume();
          });
      }
      if (fault) {
        // RFC 6613 §2.6.4: a packet whose Length cannot be right leaves the stream unframeable.
        this.radius.drop(fault, from, { nas: nas.name, transport: 'radsec' });
        this.logger.warn({ source: `${from.address}:${from.port}`, nas: nas.name, cause: fault }, 'RadSec connection closed: malformed RADIUS framing');
        close('malformed-frame');
      }
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) (this.closers.get(s) ?? (() => s.destroy()))('gateway-stopping');
    await closed;
  }
}
