import { createSocket, type Socket } from 'node:dgram';
import { parseMessage, type SipMessage } from '@sideband/sip/wire';

/** A raw UDP socket standing in for a SIP peer: it records what arrives and sends hand-written bytes. */
export class UdpPeer {
  readonly received: { message: SipMessage; at: number }[] = [];
  private waiters: { match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }[] = [];

  private constructor(readonly socket: Socket, readonly port: number) {
    socket.on('message', (bytes) => {
      const r = parseMessage(bytes);
      if (!r.ok) return;
      this.received.push({ message: r.message, at: Date.now() });
      for (const w of [...this.waiters]) {
        if (!w.match(r.message)) continue;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(r.message);
      }
    });
  }

  static open(): Promise<UdpPeer> {
    return new Promise((resolve) => {
      const socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1', () => resolve(new UdpPeer(socket, socket.address().port)));
    });
  }

  send(text: string | Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(typeof text === 'string' ? Buffer.from(text) : text, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  next(match: (m: SipMessage) => boolean, timeoutMs = 3000): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching message arrived')), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  count(match: (m: SipMessage) => boolean): number {
    return this.received.filter((r) => match(r.message)).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
