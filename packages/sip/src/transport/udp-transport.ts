import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DEFAULT_MAX_MESSAGE_SIZE, parseMessage } from '../wire/parse-message.ts';
import type { Peer, SipTransport, Target, TransportSink } from './sip-transport.ts';
import type { SourceGuard } from './source-guard.ts';

/**
 * SIP over UDP (RFC 3261 §18): one socket, bound to one address, for sending and
 * receiving, so that a peer's responses and requests reach the port in our Via and
 * Contact. Each datagram is one message. With a guard, each datagram takes a token from its
 * source address's bucket before it is parsed; one without is dropped unread.
 */
export class UdpTransport implements SipTransport {
  readonly protocol = 'UDP' as const;
  private constructor(
    private readonly socket: Socket,
    readonly local: { host: string; port: number },
    private readonly guard: SourceGuard | undefined,
  ) {}

  static listen(host: string, port: number, sink: TransportSink, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE, guard?: SourceGuard): Promise<UdpTransport> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
      socket.once('error', reject);
      socket.on('message', (datagram, rinfo) => {
        const peer = { transport: 'UDP' as const, address: rinfo.address, port: rinfo.port };
        if (guard && !guard.allowMessage(rinfo.address)) return sink.limited?.('rate-limited', peer);
        // A datagram of CR/LF only is a keep-alive from a peer that believes in them.
        if (datagram.every((b) => b === 0x0d || b === 0x0a || b === 0x20)) return;
        const result = parseMessage(datagram, { maxMessageSize });
        if (!result.ok) return sink.dropped(result.cause, peer, result.detail);
        sink.message(result.message, peer);
      });
      socket.bind(port, host, () => {
        socket.off('error', reject);
        socket.on('error', (e) => sink.dropped('socket-error', null, e.message));
        resolve(new UdpTransport(socket, { host, port: socket.address().port }, guard));
      });
    });
  }

  send(bytes: Buffer, to: Target): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.host, (e) => (e ? reject(e) : resolve())));
  }

  /** A line authenticated from `peer`: its address gets the guard's line rate. */
  authenticated(peer: Peer): void {
    this.guard?.lineAuthenticatedFrom(peer.address);
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: a second close waits for the first (dgram throws on closing a closed socket). */
  close(): Promise<void> {
    return (this.closing ??= new Promise((resolve) => this.socket.close(() => resolve())));
  }
}
