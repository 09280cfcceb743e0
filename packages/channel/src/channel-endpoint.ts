import { randomBytes } from 'node:crypto';
import type { ChannelIdentity } from './channel-certificate.ts';
import { normaliseFingerprint } from './channel-certificate.ts';
import type { Party } from './direction-rule.ts';
import { runExchangeSession, type ChannelItem, type SessionOutcome } from './exchange-session.ts';
import { FrameStream } from './frame-stream.ts';
import { connectMedia, listenMedia } from './media-connection.ts';
import { describeTlsStream, readTlsStream } from '@sideband/sip/sdp';
import { NumberPool } from './number-pool.ts';
import type { TLSSocket } from 'node:tls';
import { CallFailure, type EstablishedCall, type IncomingCall, type Telephony } from './telephony.ts';

/** The other party as this end knows it from registration: the number it calls from and its certificate. */
export interface Peer {
  party: Party;
  lineNumber: string;
  fingerprint: string;
}

export interface ExchangePlan {
  exchangeId: string;
  peer: Peer;
  /** Items this end sends (produced only once the call is up and authenticated). */
  outgoing: () => Promise<ChannelItem[]>;
  expectIncoming: number;
  onItem?: (item: ChannelItem) => Promise<void> | void;
  beforeSending?: (received: ChannelItem[]) => Promise<boolean> | boolean;
  /** Called once the call is up and both certificates checked: the channel is active. */
  onActive?: () => void;
}

export type ChannelOutcome = SessionOutcome | { ok: false; cause: 'ended-on-command' | 'number-not-reserved' | 'caller-number-mismatch' | 'certificate-mismatch' | 'no-call' | 'media-failed' | CallFailure['cause']; received: ChannelItem[]; sent: number; detail?: string };

export interface ChannelEndpointOptions {
  party: Party;
  identity: ChannelIdentity;
  telephony: Telephony;
  numbers: readonly string[];
  /** Address this end's media listens on: the separate network's, never the Internet-facing one. */
  mediaAddress: string;
  /** How long a reserved number waits for the call. Default 30 s. */
  reservationTtlMs?: number;
  ringTimeoutMs?: number;
  exchangeTimeoutMs?: number;
}

/** The call's SDP: a TLS byte stream (RFC 4145, RFC 8122) with this end's certificate fingerprint. */
function describe(address: string, port: number, setup: 'active' | 'passive', fingerprint: string): string {
  const [hashFunction, value] = fingerprint.split(' ') as [string, string];
  return describeTlsStream({ address, port, setup, connection: 'new', fingerprints: [{ hashFunction, value }], format: '*' });
}

/** The sha-256 fingerprint an SDP announces, normalised; null when there is none. */
function offeredFingerprint(sdp: string): string | null {
  const read = readTlsStream(sdp);
  const f = read.ok ? read.value.fingerprints.find((x) => x.hashFunction === 'sha-256') : undefined;
  return f ? normaliseFingerprint(`sha-256 ${f.value}`) : null;
}

/** Half-closes the stream so that the last frame (`done`) reaches the peer, then waits for it to close. */
function closeGracefully(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

/** How long the callee leaves the hanging up to the caller once the exchange is over. */
const CALLEE_HANGUP_GRACE_MS = 1000;

interface Pending extends ExchangePlan {
  token: string;
  settle: (o: ChannelOutcome) => void;
  /** Set once a call for it was answered: the reservation's time-to-live no longer applies. */
  inCall: boolean;
}

/**
 * One end of the secure channel — the provider's (originating) or the merchant's
 * (terminating). As callee it reserves numbers from its pool and answers calls to them; as
 * caller it dials the number the other end reserved. Either way it authenticates the call
 * (dialed number, caller's number, certificate, token) before any item moves, then runs
 * the exchange, hangs up and returns the number.
 */
export class ChannelEndpoint {
  readonly pool: NumberPool;
  private pending = new Map<string, Pending>();
  /** Exchanges on a live call, so that one can be ended on command. */
  private live = new Map<string, { socket: TLSSocket | null; ended: boolean }>();
  private readonly reservationTtlMs: number;
  private readonly ringTimeoutMs: number;
  private readonly exchangeTimeoutMs: number;

  constructor(private readonly o: ChannelEndpointOptions) {
    this.pool = new NumberPool(o.numbers);
    this.reservationTtlMs = o.reservationTtlMs ?? 30_000;
    this.ringTimeoutMs = o.ringTimeoutMs ?? 10_000;
    this.exchangeTimeoutMs = o.exchangeTimeoutMs ?? 10_000;
    o.telephony.onIncoming((call) => void this.answer(call));
  }

  get lineNumber(): string {
    return this.o.telephony.lineNumber;
  }

  get fingerprint(): string {
    return this.o.identity.fingerprint;
  }

  /**
   * As callee: reserves a number for the exchange. Returns the number and the token the
   * caller must repeat on the call, and the outcome once the call is over (or never came);
   * null when the pool is exhausted.
   */
  reserve(plan: ExchangePlan): { number: string; token: string; ttlMs: number; outcome: Promise<ChannelOutcome> } | null {
    const token = randomBytes(18).toString('base64url');
    const r = this.pool.reserve(plan.exchangeId, token, this.reservationTtlMs);
    if (!r) return null;
    let settle: (o: ChannelOutcome) => void = () => {};
    const outcome = new Promise<ChannelOutcome>((resolve) => (settle = resolve));
    this.pending.set(r.number, { ...plan, token, settle, inCall: false });
    // No call within the time-to-live: the number goes back and the exchange failed.
    const timer = setTimeout(() => {
      const p = this.pending.get(r.number);
      if (p && p.exchangeId === plan.exchangeId && !p.inCall) {
        this.pending.delete(r.number);
        this.pool.release(r.number);
        p.settle({ ok: false, cause: 'no-call', received: [], sent: 0 });
      }
    }, this.reservationTtlMs + 50);
    timer.unref();
    return { number: r.number, token, ttlMs: this.reservationTtlMs, outcome };
  }

  /**
   * Gives back a number reserved for an exchange that will not happen (its record could not
   * be written): the number is free at once instead of at the end of its time-to-live.
   * Does nothing once the call has come. Returns whether it gave the number back.
   */
  cancelReservation(number: string, exchangeId: string): boolean {
    const p = this.pending.get(number);
    if (!p || p.exchangeId !== exchangeId || p.inCall) return false;
    this.pending.delete(number);
    this.pool.release(number);
    p.settle({ ok: false, cause: 'no-call', received: [], sent: 0 });
    return true;
  }

  private async answer(call: IncomingCall): Promise<void> {
    const reservation = this.pool.lookup(call.dialed);
    const p = this.pending.get(call.dialed);
    if (!reservation || !p || p.exchangeId !== reservation.exchangeId) {
      await call.reject(404, 'Number not reserved');
      return;
    }
    const end = (o: ChannelOutcome) => {
      // Only this exchange's own reservation: the number may already serve another.
      if (this.pending.get(call.dialed) === p) {
        this.pending.delete(call.dialed);
        this.pool.release(call.dialed);
      }
      p.settle(o);
    };
    if (call.caller !== p.peer.lineNumber) {
      await call.reject(403, 'Caller number not the registered one');
      return end({ ok: false, cause: 'caller-number-mismatch', received: [], sent: 0, detail: call.caller });
    }
    const offer = offeredFingerprint(call.offer);
    if (!offer || offer !== normaliseFingerprint(p.peer.fingerprint)) {
      await call.reject(488, 'Certificate not the registered one');
      return end({ ok: false, cause: 'certificate-mismatch', received: [], sent: 0 });
    }
    this.pool.hold(call.dialed);
    p.inCall = true;
    let established: EstablishedCall | null = null;
    try {
      const listener = await listenMedia(this.o.identity, this.o.mediaAddress, p.peer.fingerprint, this.exchangeTimeoutMs);
      established = await call.accept(describe(listener.host, listener.port, 'passive', this.o.identity.fingerprint));
      const socket = await Promise.race([listener.accepted, established.ended.then(() => { throw new Error('call ended'); })]);
      p.onActive?.();
      const live = { socket, ended: false };
      this.live.set(p.exchangeId, live);
      const outcome = await this.ended(p.exchangeId, live, await runExchangeSession(new FrameStream(socket), { role: 'callee', exchangeId: p.exchangeId, token: p.token, outgoing: p.outgoing, expectIncoming: p.expectIncoming, timeoutMs: this.exchangeTimeoutMs, ...(p.onItem ? { onItem: p.onItem } : {}), ...(p.beforeSending ? { beforeSending: p.beforeSending } : {}) }));
      await closeGracefully(socket);
      end(outcome);
    } catch (e) {
      end({ ok: false, cause: 'media-failed', received: [], sent: 0, detail: (e as Error).message });
    } finally {
      if (established) await this.hangUpAsCallee(established);
    }
  }

  /**
   * The caller hangs up once its exchange is over; the callee, over at about the same
   * moment, waits for that BYE instead of sending its own. Two BYEs crossing each other
   * (glare) were each answered 481 and cost the exchange and both user agents their
   * messages for nothing, on every exchange. A caller that does not hang up within
   * CALLEE_HANGUP_GRACE_MS is hung up on.
   */
  private async hangUpAsCallee(call: EstablishedCall): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([call.ended.then(() => true), new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, CALLEE_HANGUP_GRACE_MS, false);
      // Not what keeps a process alive: its user agent is, while it can still hang up.
      timer.unref();
    })]);
    clearTimeout(timer);
    if (!ended) await call.hangup().catch(() => {});
  }

  /** As caller: dials the number the callee reserved and runs the exchange. */
  async placeCall(plan: ExchangePlan & { number: string; token: string }): Promise<ChannelOutcome> {
    let call: EstablishedCall;
    try {
      // RFC 4145 §4.1: the active end, which only connects out, gives the discard port.
      call = await this.o.telephony.call(plan.number, describe(this.o.mediaAddress, 9, 'active', this.o.identity.fingerprint), this.ringTimeoutMs);
    } catch (e) {
      if (e instanceof CallFailure) return { ok: false, cause: e.cause, received: [], sent: 0, detail: e.message };
      return { ok: false, cause: 'exchange-down', received: [], sent: 0, detail: (e as Error).message };
    }
    try {
      const read = readTlsStream(call.remoteDescription);
      const answer = read.ok ? read.value : null;
      if (!answer || offeredFingerprint(call.remoteDescription) !== normaliseFingerprint(plan.peer.fingerprint)) return { ok: false, cause: 'certificate-mismatch', received: [], sent: 0 };
      let socket;
      try {
        socket = await connectMedia(this.o.identity, answer.address, answer.port, plan.peer.fingerprint, this.exchangeTimeoutMs);
      } catch (e) {
        return { ok: false, cause: 'media-failed', received: [], sent: 0, detail: (e as Error).message };
      }
      plan.onActive?.();
      const live = { socket, ended: false };
      this.live.set(plan.exchangeId, live);
      const outcome = await this.ended(plan.exchangeId, live, await runExchangeSession(new FrameStream(socket), { role: 'caller', exchangeId: plan.exchangeId, token: plan.token, outgoing: plan.outgoing, expectIncoming: plan.expectIncoming, timeoutMs: this.exchangeTimeoutMs, ...(plan.onItem ? { onItem: plan.onItem } : {}), ...(plan.beforeSending ? { beforeSending: plan.beforeSending } : {}) }));
      await closeGracefully(socket);
      return outcome;
    } finally {
      await call.hangup().catch(() => {});
    }
  }

  /** Ends a live exchange now (the subscriber's command); the call is hung up and the outcome says so. */
  endExchange(exchangeId: string): boolean {
    const live = this.live.get(exchangeId);
    if (!live?.socket) return false;
    live.ended = true;
    live.socket.destroy();
    return true;
  }

  private async ended(exchangeId: string, live: { ended: boolean }, outcome: SessionOutcome): Promise<ChannelOutcome> {
    this.live.delete(exchangeId);
    return live.ended && !outcome.ok ? { ok: false, cause: 'ended-on-command', received: outcome.received, sent: outcome.sent } : outcome;
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: a second close waits for the first, whatever the telephony does on its own. */
  close(): Promise<void> {
    return (this.closing ??= this.o.telephony.close());
  }
}
