import { DEFAULT_MAX_MESSAGE_SIZE, findHeadEnd, parseMessage } from './parse-message.ts';
import { parseFailure, type SipParseFailure } from './parse-failure.ts';
import type { SipMessage } from './sip-message.ts';

export type FramedItem =
  | { readonly kind: 'message'; readonly message: SipMessage }
  /** RFC 5626 §3.5.1: a CRLFCRLF "ping" between messages, to be answered with a CRLF "pong". */
  | { readonly kind: 'keep-alive' }
  /** fatal: the framing is lost and the connection must be closed. */
  | { readonly kind: 'failure'; readonly failure: SipParseFailure; readonly fatal: boolean };

/**
 * Cuts a TCP byte stream into messages by Content-Length (RFC 3261 §18.3), across partial
 * reads and several messages per read. A message whose framing is intact but whose
 * content is malformed is reported and skipped; a missing or bad Content-Length, or a
 * message over the size limit, leaves no way to find the next message, so the framer
 * reports it as fatal and accepts nothing more.
 */
export class SipStreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private crlfRun = 0;
  private failed = false;

  constructor(private readonly maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE) {}

  push(chunk: Buffer): FramedItem[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: FramedItem[] = [];
    for (;;) {
      // RFC 3261 §7.5: CRLFs before a start line are ignored; RFC 5626 §3.5.1 gives a
      // double CRLF there the meaning of a keep-alive ping.
      let skip = 0;
      while (skip < this.buffer.length && (this.buffer[skip] === 0x0d || this.buffer[skip] === 0x0a)) {
        skip++;
        if (++this.crlfRun === 4) {
          out.push({ kind: 'keep-alive' });
          this.crlfRun = 0;
        }
      }
      if (skip > 0) this.buffer = this.buffer.subarray(skip);
      if (this.buffer.length === 0) return out;
      this.crlfRun = 0;

      const end = findHeadEnd(this.buffer, 0);
      if (end === null) {
        if (this.buffer.length > this.maxMessageSize) return this.fail(out, parseFailure('message-too-large', 'header section without end'));
        return out;
      }
      const head = this.buffer.subarray(0, end.headEnd).toString('latin1');
      const lengths = [...head.matchAll(/^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$/gim)].map((m) => m[1]!);
      if (lengths.length === 0) return this.fail(out, parseFailure('content-length-missing', 'stream transport'));
      if (lengths.some((v) => !/^\d{1,10}$/.test(v) || v !== lengths[0])) return this.fail(out, parseFailure('content-length-invalid', 'not one decimal number'));
      const total = end.bodyStart + Number(lengths[0]);
      if (total > this.maxMessageSize) return this.fail(out, parseFailure('message-too-large', `${total} octets, limit ${this.maxMessageSize}`));
      if (this.buffer.length < total) return out;

      const result = parseMessage(this.buffer.subarray(0, total), { maxMessageSize: this.maxMessageSize, stream: true });
      this.buffer = this.buffer.subarray(total);
      out.push(result.ok ? { kind: 'message', message: result.message } : { kind: 'failure', failure: result, fatal: false });
    }
  }

  private fail(out: FramedItem[], failure: SipParseFailure): FramedItem[] {
    this.failed = true;
    this.buffer = Buffer.alloc(0);
    out.push({ kind: 'failure', failure, fatal: true });
    return out;
  }
}
