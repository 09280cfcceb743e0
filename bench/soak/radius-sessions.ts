// RADIUS load for the soak: subscribers log in and out as a NAS reports them. Each one
// cycles Access-Request (PAP, signed) → Accounting Start → Interim-Updates → Stop, with
// the address and Class the Access-Accept gave it, at an overall rate of requests per
// second. Built on the project's NAS-side encoders (src/aaa/protocol/encode-request.ts),
// so that every answer is matched to its request and its Response Authenticator checked.
import { createSocket, type Socket } from 'node:dgram';
import { encodeAccessRequest, encodeAccountingRequest } from '../../src/aaa/protocol/encode-request.ts';
import { verifyResponseAuthenticator } from '../../src/aaa/protocol/response-authenticator.ts';
import { decodePacket } from '../../src/aaa/wire/decode-packet.ts';
import type { AttributeInput } from '../../src/aaa/wire/encode-packet.ts';
import type { RadiusPacket } from '../../src/aaa/wire/radius-packet.ts';
import type { Tally } from './tally.ts';

export interface RadiusSessionsOptions {
  /** host:port of the gateway's authentication and accounting listeners. */
  readonly auth: string;
  readonly acct: string;
  /** The NAS's address (requests are sent from it) and shared secret. */
  readonly nasAddress: string;
  readonly secret: string;
  readonly subscribers: readonly { readonly login: string; readonly password: string }[];
  /** Requests per second, all kinds together. */
  readonly rate: number;
  readonly interimsPerSession: number;
  readonly tally: Tally;
}

const TIMEOUT_MS = 5000;
const TICK_MS = 20;

interface Pending {
  readonly request: RadiusPacket;
  readonly timer: NodeJS.Timeout;
  readonly done: (response: RadiusPacket | null) => void;
}

/** One UDP socket towards one listener, with up to 256 requests outstanding by Identifier. */
class Port {
  readonly socket: Socket;
  readonly pending = new Map<number, Pending>();
  next = 0;

  constructor(readonly kind: 'access' | 'accounting', private readonly target: { host: string; port: number }, private readonly secret: string, private readonly tally: Tally) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (datagram) => this.receive(datagram));
    this.socket.on('error', () => tally.add(`radius ${kind} socket error`));
  }

  freeIdentifier(): number | undefined {
    for (let i = 0; i < 256; i++) {
      const id = (this.next + i) & 0xff;
      if (!this.pending.has(id)) {
        this.next = (id + 1) & 0xff;
        return id;
      }
    }
    return undefined;
  }

  send(bytes: Buffer): Promise<RadiusPacket | null> {
    const decoded = decodePacket(bytes);
    if (!decoded.ok) throw new Error(`built an undecodable request: ${decoded.cause}`);
    const request = decoded.packet;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.identifier);
        resolve(null);
      }, TIMEOUT_MS);
      this.pending.set(request.identifier, { request, timer, done: resolve });
      this.socket.send(bytes, this.target.port, this.target.host);
    });
  }

  private receive(datagram: Buffer): void {
    const decoded = decodePacket(datagram);
    if (!decoded.ok) return this.tally.add(`radius ${this.kind} undecodable answer`);
    const pending = this.pending.get(decoded.packet.identifier);
    if (!pending) return this.tally.add(`radius ${this.kind} late answer`);
    // RFC 2865 §3: a response whose authenticator does not check is silently discarded.
    if (!verifyResponseAuthenticator(decoded.packet, pending.request, this.secret)) return this.tally.add(`radius ${this.kind} bad authenticator`);
    clearTimeout(pending.timer);
    this.pending.delete(decoded.packet.identifier);
    pending.done(decoded.packet);
  }
}

interface Subscriber {
  readonly login: string;
  readonly password: string;
  busy: boolean;
  session: { readonly id: string; readonly address: string; readonly classValue: Buffer | undefined; readonly started: number; interims: number } | null;
}

const hostPort = (text: string) => ({ host: text.slice(0, text.lastIndexOf(':')), port: Number(text.slice(text.lastIndexOf(':') + 1)) });

export class RadiusSessions {
  private readonly access: Port;
  private readonly accounting: Port;
  private readonly subscribers: Subscriber[];
  private timer: NodeJS.Timeout | null = null;
  private credit = 0;
  private turn = 0;
  private sessions = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: RadiusSessionsOptions) {
    this.access = new Port('access', hostPort(o.auth), o.secret, o.tally);
    this.accounting = new Port('accounting', hostPort(o.acct), o.secret, o.tally);
    this.subscribers = o.subscribers.map((s) => ({ ...s, busy: false, session: null }));
  }

  async start(): Promise<void> {
    await Promise.all([this.access, this.accounting].map((p) => new Promise<void>((r) => p.socket.bind(0, this.o.nasAddress, () => r()))));
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.inFlight);
    for (const p of [this.access, this.accounting]) p.socket.close();
  }

  private tick(): void {
    this.credit = Math.min(this.credit + (this.o.rate * TICK_MS) / 1000, this.o.rate);
    for (let tries = 0; this.credit >= 1 && tries < this.subscribers.length; tries++) {
      const s = this.subscribers[this.turn++ % this.subscribers.length]!;
      if (s.busy) continue;
      const port = s.session === null ? this.access : this.accounting;
      const identifier = port.freeIdentifier();
      if (identifier === undefined) return;
      this.credit--;
      s.busy = true;
      const step = this.step(s, identifier).catch((e: unknown) => this.o.tally.add(`radius failure ${(e as Error).message}`)).finally(() => {
        s.busy = false;
        this.inFlight.delete(step);
      });
      this.inFlight.add(step);
    }
  }

  /** Sends the subscriber's next request: log in, or report its session's next event. */
  private async step(s: Subscriber, identifier: number): Promise<void> {
    const { tally, secret } = this.o;
    if (s.session === null) {
      const answer = await this.access.send(encodeAccessRequest({
        identifier, secret, password: s.password,
        attributes: [{ name: 'User-Name', value: s.login }, { name: 'NAS-IP-Address', value: this.o.nasAddress }, { name: 'NAS-Port', value: this.turn & 0xffff }, { name: 'Calling-Station-Id', value: `02-00-00-${s.login.length}` }],
      }));
      if (answer === null) return tally.add('radius access timeout');
      const address = answer.ipv4('Framed-IP-Address');
      if (answer.code !== 'Access-Accept' || address === undefined) return tally.add(`radius access ${answer.code === 'Access-Accept' ? 'accept without address' : `reject: ${answer.text('Reply-Message') ?? ''}`}`);
      tally.add('radius access accept');
      s.session = { id: `soak-${process.pid}-${++this.sessions}`, address, classValue: answer.octets('Class'), started: Date.now(), interims: -1 };
      return;
    }
    const session = s.session;
    const status = session.interims < 0 ? 'Start' : session.interims < this.o.interimsPerSession ? 'Interim-Update' : 'Stop';
    const seconds = Math.floor((Date.now() - session.started) / 1000);
    const attributes: AttributeInput[] = [
      { name: 'Acct-Status-Type', value: status },
      { name: 'Acct-Session-Id', value: session.id },
      { name: 'User-Name', value: s.login },
      { name: 'NAS-IP-Address', value: this.o.nasAddress },
      { name: 'Framed-IP-Address', value: session.address },
      ...(session.classValue && session.classValue.length > 0 ? [{ name: 'Class' as const, value: session.classValue }] : []),
      ...(status === 'Start' ? [] : [{ name: 'Acct-Session-Time' as const, value: seconds }, { name: 'Acct-Input-Octets' as const, value: seconds * 1500 }, { name: 'Acct-Output-Octets' as const, value: seconds * 9000 }]),
      ...(status === 'Stop' ? [{ name: 'Acct-Terminate-Cause' as const, value: 'User-Request' as const }] : []),
    ];
    const answer = await this.accounting.send(encodeAccountingRequest({ identifier, secret, attributes }));
    if (answer === null) {
      tally.add(`radius accounting ${status} timeout`);
    } else {
      tally.add(`radius accounting ${status} answered`);
    }
    // A lost Stop is not retried: the session's next login starts a new one, as after a NAS reboot.
    session.interims++;
    if (status === 'Stop') s.session = null;
  }
}
