import { spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { verifyAccountingRequestAuthenticator } from '../../src/aaa/protocol/accounting-request-authenticator.ts';
import { encodeResponse } from '../../src/aaa/protocol/encode-response.ts';
import { verifyMessageAuthenticator } from '../../src/aaa/protocol/message-authenticator.ts';
import { ErrorCause } from '../../src/aaa/wire/attribute-values.ts';
import { decodePacket } from '../../src/aaa/wire/decode-packet.ts';
import type { AttributeInput } from '../../src/aaa/wire/encode-packet.ts';
import { AUTHENTICATOR_OFFSET } from '../../src/aaa/wire/packet-format.ts';
import type { RadiusPacket } from '../../src/aaa/wire/radius-packet.ts';
import { haveCommand } from '../../scripts/debian-peers.js';

export const haveTshark = haveCommand('tshark');

/** How the test NAS answers a request: as RFC 5176 §2 allows, or not at all, or first with a forgery. */
export type NasBehaviour =
  | { answer: 'ack' }
  | { answer: 'nak'; errorCause: keyof typeof ErrorCause }
  | { answer: 'silence' }
  /** A response signed with the wrong secret (as an attacker without it would), then the real ACK. */
  | { answer: 'forged-then-ack' }
  /** Only the forgery: the gateway must never take it. */
  | { answer: 'forged' };

export interface ReceivedRequest {
  raw: Buffer;
  packet: RadiusPacket;
  from: RemoteInfo;
  /** RFC 5176 §2.3: computed as an Accounting-Request's, with the shared secret. */
  requestAuthenticatorValid: boolean;
  /** RFC 5176 §3.1: 'valid', or 'absent' / 'invalid'. */
  messageAuthenticator: string;
}

/**
 * A NAS's dynamic-authorization server (RFC 5176 §1.1 "Dynamic Authorization Server") on a
 * loopback UDP port, built on the project's codec: it checks every request's Request
 * Authenticator and Message-Authenticator with the shared secret and answers as told.
 * `pcap()` writes what it received for tshark, an independent decoder, to read.
 */
export class TestNas extends EventEmitter<{ request: [ReceivedRequest] }> {
  readonly received: ReceivedRequest[] = [];
  behaviour: NasBehaviour = { answer: 'ack' };
  private socket: Socket | null = null;

  constructor(private readonly secret: string) {
    super();
  }

  get port(): number {
    return this.socket!.address().port;
  }

  /** `host`: another loopback address stands for a dynamic-authorization server apart from the NAS. */
  async start(host = '127.0.0.1'): Promise<this> {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => this.receive(socket, msg, rinfo));
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    this.socket = socket;
    return this;
  }

  /** The next request to arrive (or the one that just did, if `after` requests had arrived). */
  async nextRequest(after = this.received.length): Promise<ReceivedRequest> {
    while (this.received.length <= after) await once(this, 'request');
    return this.received[after]!;
  }

  private receive(socket: Socket, msg: Buffer, from: RemoteInfo): void {
    const decoded = decodePacket(msg);
    if (!decoded.ok) return;
    const packet = decoded.packet;
    const request: ReceivedRequest = {
      raw: Buffer.from(msg), packet, from,
      requestAuthenticatorValid: verifyAccountingRequestAuthenticator(packet, this.secret),
      messageAuthenticator: verifyMessageAuthenticator(packet, this.secret),
    };
    this.received.push(request);
    this.emit('request', request);
    if (!request.requestAuthenticatorValid || request.messageAuthenticator !== 'valid') return; // RFC 5176 §3.1: silently discarded
    if (packet.code !== 'Disconnect-Request' && packet.code !== 'CoA-Request') return;
    const [ack, nak] = packet.code === 'Disconnect-Request' ? (['Disconnect-ACK', 'Disconnect-NAK'] as const) : (['CoA-ACK', 'CoA-NAK'] as const);
    const b = this.behaviour;
    const send = (datagram: Buffer) => this.socket && socket.send(datagram, from.port, from.address);
    if (b.answer === 'silence') return;
    if (b.answer === 'forged' || b.answer === 'forged-then-ack') {
      send(encodeResponse({ request: packet, code: ack, secret: 'not-the-shared-secret' }));
      if (b.answer === 'forged') return;
    }
    const attributes: AttributeInput[] = b.answer === 'nak' ? [{ name: 'Error-Cause', value: b.errorCause }] : [];
    // After the forgery, so the gateway sees the fake first.
    setImmediate(() => send(encodeResponse({ request: packet, code: b.answer === 'nak' ? nak : ack, secret: this.secret, attributes })));
  }

  /**
   * A pcap (LINKTYPE_RAW: IPv4 packets) of the requests received, each in an IPv4/UDP
   * header addressed to this NAS's port, for `tshark -d udp.port==PORT,radius`.
   */
  pcap(file: string, requests: readonly ReceivedRequest[] = this.received): void {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(101, 20); // LINKTYPE_RAW
    const records = requests.map((r, i) => {
      const udp = Buffer.alloc(8);
      udp.writeUInt16BE(r.from.port, 0);
      udp.writeUInt16BE(this.port, 2);
      udp.writeUInt16BE(8 + r.raw.length, 4);
      const ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + 8 + r.raw.length, 2);
      ip[8] = 64;
      ip[9] = 17;
      Buffer.from([127, 0, 0, 1]).copy(ip, 12);
      Buffer.from([127, 0, 0, 1]).copy(ip, 16);
      let sum = 0;
      for (let at = 0; at < 20; at += 2) sum += ip.readUInt16BE(at);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ip.writeUInt16BE(~sum & 0xffff, 10);
      const frame = Buffer.concat([ip, udp, r.raw]);
      const record = Buffer.alloc(16);
      record.writeUInt32LE(1_700_000_000 + i, 0);
      record.writeUInt32LE(frame.length, 8);
      record.writeUInt32LE(frame.length, 12);
      return Buffer.concat([record, frame]);
    });
    writeFileSync(file, Buffer.concat([header, ...records]));
  }

  /** tshark's verbose decoding of the pcap, its RADIUS dissector told the shared secret. */
  tshark(file: string): string {
    const r = spawnSync('tshark', ['-r', file, '-V', '-d', `udp.port==${this.port},radius`, '-o', `radius.shared_secret:${this.secret}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
    return r.stdout;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.socket ? this.socket.close(() => r()) : r()));
    this.socket = null;
  }
}

/** The Request Authenticator field of a datagram, for comparing retransmissions. */
export const requestAuthenticatorOf = (raw: Buffer): Buffer => raw.subarray(AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + 16);
