import { timingSafeEqual } from 'node:crypto';
import type { ChannelFrame, FrameStream } from './frame-stream.ts';

/** One item of sensitive data or goods moved over the call. */
export interface ChannelItem {
  kind: string;
  contentType?: string;
  /** base64 for binary goods, or the JSON text of a card. */
  data: string;
}

export type SessionFailure =
  | 'token-mismatch'
  | 'exchange-mismatch'
  | 'sent-before-hello'
  | 'direction-rule'
  | 'too-many-items'
  | 'too-few-items'
  | 'peer-error'
  | 'protocol-error'
  | 'timeout'
  | 'stream-closed';

export type SessionOutcome = { ok: true; received: ChannelItem[]; sent: number } | { ok: false; cause: SessionFailure; received: ChannelItem[]; sent: number; detail?: string };

export interface SessionPlan {
  role: 'caller' | 'callee';
  exchangeId: string;
  /** The identification token the callee issued with the number, repeated on the call. */
  token: string;
  /** What this end sends, in order. The caller sends first; the callee only after it. */
  outgoing: () => Promise<ChannelItem[]>;
  /** How many items the peer announced it will send. */
  expectIncoming: number;
  timeoutMs: number;
  /** Called with each received item as it arrives (e.g. the merchant's acquirer hook). */
  onItem?: (item: ChannelItem) => Promise<void> | void;
  /** Called before this end sends anything; a false answer aborts (e.g. the merchant refuses to deliver). */
  beforeSending?: (received: ChannelItem[]) => Promise<boolean> | boolean;
}

const tokenEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * The exchange on an established call (docs/secure-channel.md):
 * caller → hello{exchangeId, token}; caller → item × n, done; callee → item × m, done.
 * The callee checks the token before anything moves and sends nothing before the
 * caller's `done`; either end ends the exchange with `error{cause}` on any breach.
 */
export async function runExchangeSession(frames: FrameStream, plan: SessionPlan): Promise<SessionOutcome> {
  const received: ChannelItem[] = [];
  let sent = 0;
  const fail = (cause: SessionFailure, detail?: string): SessionOutcome => {
    try {
      frames.send({ type: 'error', cause });
    } catch {
      // the stream may already be gone
    }
    return { ok: false, cause, received, sent, ...(detail ? { detail } : {}) };
  };
  const next = async (): Promise<ChannelFrame | SessionFailure> => {
    try {
      return await frames.next(plan.timeoutMs);
    } catch (e) {
      return (e as Error).message === 'timeout' ? 'timeout' : 'stream-closed';
    }
  };
  /** `checked`: what must pass after the items are ready and before the first leaves (the caller's direction rule). */
  const sendAll = async (checked?: () => Promise<SessionOutcome | null>): Promise<SessionOutcome | null> => {
    if (plan.beforeSending && !(await plan.beforeSending(received))) return fail('peer-error', 'this end refused to send');
    const items = await plan.outgoing();
    const breach = await checked?.();
    if (breach) return breach;
    frames.send(...items.map((item, i): ChannelFrame => ({ type: 'item', seq: sent + i + 1, kind: item.kind, ...(item.contentType ? { contentType: item.contentType } : {}), data: item.data })), { type: 'done' });
    sent += items.length;
    return null;
  };
  const receiveAll = async (): Promise<SessionOutcome | null> => {
    for (;;) {
      const f = await next();
      if (typeof f === 'string') return fail(f);
      if (f.type === 'error') return { ok: false, cause: 'peer-error', received, sent, detail: f.cause };
      if (f.type === 'done') {
        if (received.length < plan.expectIncoming) return fail('too-few-items', `${received.length} of ${plan.expectIncoming}`);
        return null;
      }
      if (f.type !== 'item') return fail('protocol-error', `unexpected ${f.type}`);
      if (received.length >= plan.expectIncoming) return fail('too-many-items');
      const item: ChannelItem = { kind: f.kind, data: f.data, ...(f.contentType ? { contentType: f.contentType } : {}) };
      received.push(item);
      await plan.onItem?.(item);
    }
  };

  if (plan.role === 'caller') {
    frames.send({ type: 'hello', exchangeId: plan.exchangeId, token: plan.token });
    // The direction rule, from the caller's side: the callee must not have sent an item
    // first. Let what already reached the socket be read before looking — while the items
    // are being produced (the provider's card waits for its audit commit), not before:
    // those turns of the event loop were a fixed wait ahead of that commit.
    const turns = (async () => {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    })();
    const s = await sendAll(async () => {
      await turns;
      return frames.peek().some((f) => f.type === 'item') ? fail('direction-rule', 'the callee sent before the caller') : null;
    });
    if (s) return s;
    const r = await receiveAll();
    if (r) return r;
  } else {
    const hello = await next();
    if (typeof hello === 'string') return fail(hello);
    if (hello.type === 'item') return fail('sent-before-hello');
    if (hello.type !== 'hello') return fail('protocol-error', `expected hello, got ${hello.type}`);
    if (hello.exchangeId !== plan.exchangeId) return fail('exchange-mismatch');
    if (!tokenEqual(hello.token, plan.token)) return fail('token-mismatch');
    const r = await receiveAll();
    if (r) return r;
    const s = await sendAll();
    if (s) return s;
  }
  return { ok: true, received, sent };
}
