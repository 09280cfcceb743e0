import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Counter } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { encodeDynamicAuthorizationRequest } from '../protocol/encode-request.ts';
import { verifyMessageAuthenticator } from '../protocol/message-authenticator.ts';
import { verifyResponseAuthenticator } from '../protocol/response-authenticator.ts';
import type { SharedSecret } from '../protocol/shared-secret.ts';
import { decodePacket } from '../wire/decode-packet.ts';
import type { AttributeInput } from '../wire/encode-packet.ts';
import type { DynamicAuthorizationRequestCode, PacketCodeName } from '../wire/packet-code.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';

/** RFC 5176 §2: the answers each request may get. */
const answers: Record<DynamicAuthorizationRequestCode, { ack: PacketCodeName; nak: PacketCodeName }> = {
  'Disconnect-Request': { ack: 'Disconnect-ACK', nak: 'Disconnect-NAK' },
  'CoA-Request': { ack: 'CoA-ACK', nak: 'CoA-NAK' },
};

export interface DynamicAuthorizationRequest {
  code: DynamicAuthorizationRequestCode;
  address: string;
  port: number;
  secret: SharedSecret;
  /** Neither Message-Authenticator (always added first) nor anything hidden. */
  attributes: readonly AttributeInput[];
  /** Refuse an answer without Message-Authenticator (the NAS's BlastRADIUS setting). */
  requireMessageAuthenticator: boolean;
}

export type ClientOutcome =
  | { status: 'ack' | 'nak'; attempts: number; errorCause: number | null }
  | { status: 'timeout'; attempts: number; ignored: number }
  | { status: 'aborted'; attempts: number };

/** Why an answer was ignored; the labels of the drop counter. Stable strings: docs/radius.md. */
export type IgnoredCause = 'malformed' | 'unexpected' | 'wrong-code' | 'response-authenticator-invalid' | 'message-authenticator-invalid' | 'message-authenticator-missing';

interface InFlight {
  key: string;
  request: DynamicAuthorizationRequest;
  packet: RadiusPacket;
  attempts: number;
  ignored: number;
  timer: NodeJS.Timeout | null;
  resolve: (outcome: ClientOutcome) => void;
}

/**
 * Sideband as a Dynamic Authorization Client (RFC 5176 §1.1): sends Disconnect-Requests
 * and CoA-Requests from an ephemeral UDP port and matches each answer to its request by
 * the NAS's address, port and Identifier. An answer counts only if its Response
 * Authenticator (RFC 5176 §2.3, computed as for Accounting-Response) and its
 * Message-Authenticator (§3.1) check out with the NAS's secret; anything else is ignored
 * and counted, and the request keeps waiting for the real answer.
 *
 * Retransmissions resend the same octets, Identifier and Request Authenticator included
 * (RFC 5080 §2.2.1), after `timeoutMs`, then twice as long each time, `attempts` sends in
 * all; silence after the last is the outcome "timeout".
 */
export class DynamicAuthorizationClient {
  private readonly sockets = new Map<4 | 6, Promise<Socket>>();
  private readonly inFlight = new Map<string, InFlight>();
  /** The next Identifier to try per NAS address and port. */
  private readonly nextId = new Map<string, number>();
  private readonly ignored: Counter<'cause'>;
  private readonly sent: Counter<'code'>;
  private closed = false;

  constructor(
    private readonly options: { timeoutMs: number; attempts: number },
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.ignored = metrics.counter('sideband_radius_dynamic_authorization_ignored_total', 'Answers to Disconnect- and CoA-Requests ignored, by cause (forged, malformed, unexpected)', ['cause']);
    this.sent = metrics.counter('sideband_radius_dynamic_authorization_sent_total', 'Disconnect- and CoA-Requests sent, retransmissions included, by code', ['code']);
  }

  /** Sends `request` until it is answered or every attempt went unanswered. Never rejects on the NAS's account. */
  async send(request: DynamicAuthorizationRequest): Promise<ClientOutcome> {
    if (this.closed) return { status: 'aborted', attempts: 0 };
    const socket = await this.socket(isIPv6(request.address) ? 6 : 4);
    const destination = `${request.address}|${request.port}`;
    const identifier = this.identifierFor(destination);
    if (identifier === null) {
      // 256 requests in flight to one NAS port: wait for one to finish rather than reuse an Identifier.
      await new Promise((r) => setTimeout(r, this.options.timeoutMs).unref());
      return this.send(request);
    }
    const raw = encodeDynamicAuthorizationRequest(request.code, { identifier, secret: request.secret, attributes: request.attributes });
    const decoded = decodePacket(raw);
    if (!decoded.ok) throw new Error(`encoded a ${request.code} that does not decode (${decoded.cause})`);
    return new Promise<ClientOutcome>((resolve) => {
      const flight: InFlight = { key: `${destination}|${identifier}`, request, packet: decoded.packet, attempts: 0, ignored: 0, timer: null, resolve };
      this.inFlight.set(flight.key, flight);
      this.transmit(socket, flight);
    });
  }

  private transmit(socket: Socket, flight: InFlight): void {
    if (this.closed) return;
    flight.attempts++;
    this.sent.inc({ code: flight.request.code });
    socket.send(flight.packet.raw, flight.request.port, flight.request.address, (e) => {
      if (e) this.logger.warn({ err: e, nas: flight.request.address, code: flight.request.code }, 'could not send a dynamic-authorization request; retrying');
    });
    const wait = this.options.timeoutMs * 2 ** (flight.attempts - 1);
    flight.timer = setTimeout(() => {
      if (flight.attempts < this.options.attempts) return this.transmit(socket, flight);
      this.finish(flight, { status: 'timeout', attempts: flight.attempts, ignored: flight.ignored });
    }, wait);
    flight.timer.unref();
  }

  private finish(flight: InFlight, outcome: ClientOutcome): void {
    if (flight.timer) clearTimeout(flight.timer);
    this.inFlight.delete(flight.key);
    flight.resolve(outcome);
  }

  private identifierFor(destination: string): number | null {
    const start = this.nextId.get(destination) ?? Math.floor(Math.random() * 256);
    for (let i = 0; i < 256; i++) {
      const id = (start + i) % 256;
      if (!this.inFlight.has(`${destination}|${id}`)) {
        this.nextId.set(destination, (id + 1) % 256);
        return id;
      }
    }
    return null;
  }

  private socket(family: 4 | 6): Promise<Socket> {
    let socket = this.sockets.get(family);
    if (!socket) {
      socket = new Promise<Socket>((resolve, reject) => {
        const s = createSocket(family === 6 ? 'udp6' : 'udp4');
        s.once('error', reject);
        s.on('message', (msg, rinfo) => this.receive(msg, rinfo));
        s.bind(0, () => {
          s.off('error', reject);
          s.on('error', (e) => this.logger.warn({ err: e }, 'dynamic-authorization socket error'));
          resolve(s);
        });
      });
      this.sockets.set(family, socket);
    }
    return socket;
  }

  private ignore(cause: IgnoredCause, rinfo: RemoteInfo, flight?: InFlight): void {
    this.ignored.inc({ cause });
    if (flight) flight.ignored++;
    this.logger.warn({ cause, source: `${rinfo.address}:${rinfo.port}`, code: flight?.request.code }, 'answer to a dynamic-authorization request ignored');
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.ignore('malformed', rinfo);
    const response = decoded.packet;
    // RFC 5176 §2.3 with RFC 2865 §3: an answer is matched by where it came from and its Identifier.
    const flight = this.inFlight.get(`${rinfo.address}|${rinfo.port}|${response.identifier}`);
    if (!flight) return this.ignore('unexpected', rinfo);
    const { ack, nak } = answers[flight.request.code];
    if (response.code !== ack && response.code !== nak) return this.ignore('wrong-code', rinfo, flight);
    // RFC 5176 §2.3: the Response Authenticator "is calculated the same way as for an
    // Accounting-Response"; one that does not check is not the NAS's (a wrong secret, or forged).
    if (!verifyResponseAuthenticator(response, flight.packet, flight.request.secret)) return this.ignore('response-authenticator-invalid', rinfo, flight);
    const ma = verifyMessageAuthenticator(response, flight.request.secret, flight.packet);
    if (ma === 'invalid') return this.ignore('message-authenticator-invalid', rinfo, flight);
    if (ma === 'absent' && flight.request.requireMessageAuthenticator) return this.ignore('message-authenticator-missing', rinfo, flight);
    this.finish(flight, { status: response.code === ack ? 'ack' : 'nak', attempts: flight.attempts, errorCause: response.integer('Error-Cause') ?? null });
  }

  /** Ends every request in flight as 'aborted' (the caller gives it back to the queue) and closes the sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const flight of [...this.inFlight.values()]) this.finish(flight, { status: 'aborted', attempts: flight.attempts });
    const sockets = await Promise.all([...this.sockets.values()].map((p) => p.catch(() => null)));
    await Promise.all(sockets.map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : undefined)));
    this.sockets.clear();
  }
}
