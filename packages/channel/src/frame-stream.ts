import type { Duplex } from 'node:stream';

/** The largest frame either end accepts; an item larger than this is refused, not buffered. */
export const MAX_FRAME = 1024 * 1024;

export type ChannelFrame =
  | { type: 'hello'; exchangeId: string; token: string }
  | { type: 'item'; seq: number; kind: string; contentType?: string; data: string }
  | { type: 'ack'; seq: number }
  | { type: 'done' }
  | { type: 'error'; cause: string };

/**
 * Frames on the call's byte stream: a 4-octet big-endian length, then that many octets of
 * UTF-8 JSON. Bounded: a length over MAX_FRAME ends the stream with `frame-too-large`.
 */
export class FrameStream {
  private buffer = Buffer.alloc(0);
  private waiting: Array<{ resolve: (f: ChannelFrame) => void; reject: (e: Error) => void }> = [];
  private queue: ChannelFrame[] = [];
  private failure: Error | null = null;

  constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.fail(new Error('stream-closed')));
    socket.on('error', (e) => this.fail(e));
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length > MAX_FRAME) {
        this.fail(new Error('frame-too-large'));
        this.socket.destroy();
        return;
      }
      if (this.buffer.length < 4 + length) return;
      const body = this.buffer.subarray(4, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      let frame: ChannelFrame;
      try {
        frame = JSON.parse(body.toString('utf8')) as ChannelFrame;
        if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') throw new Error('not a frame');
      } catch {
        this.fail(new Error('frame-malformed'));
        this.socket.destroy();
        return;
      }
      const w = this.waiting.shift();
      if (w) w.resolve(frame);
      else this.queue.push(frame);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  /** Frames received and not yet taken, without taking them. */
  peek(): readonly ChannelFrame[] {
    return this.queue;
  }

  /** Sends the frames in one write: one TLS record and one system call for a card and its `done`, not one each. */
  send(...frames: ChannelFrame[]): void {
    const parts: Buffer[] = [];
    for (const frame of frames) {
      const body = Buffer.from(JSON.stringify(frame), 'utf8');
      if (body.length > MAX_FRAME) throw new Error('frame-too-large');
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length);
      parts.push(header, body);
    }
    this.socket.write(Buffer.concat(parts));
  }

  /** The next frame, or a rejection when the stream ends or `timeoutMs` passes. */
  next(timeoutMs: number): Promise<ChannelFrame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w.resolve !== done);
        reject(new Error('timeout'));
      }, timeoutMs);
      const done = (f: ChannelFrame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiting.push({ resolve: done, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
  }

  close(): void {
    this.socket.end();
  }
}
