import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cseqOf, serializeMessage, SipStreamFramer, type FramedItem, parseMessage } from '@sideband/sip/wire';
import { crlf, minimalRequest, rfc3261F1 } from './messages.ts';

const messages = (items: FramedItem[]) => items.filter((i) => i.kind === 'message').map((i) => (i.kind === 'message' ? i.message : null)!);
const request = (seq: number) => minimalRequest({ CSeq: `${seq} OPTIONS` });

describe('framing SIP over a TCP stream (RFC 3261 §18.3)', () => {
  it('reassembles a message delivered one octet at a time', () => {
    const framer = new SipStreamFramer();
    const out: FramedItem[] = [];
    for (const octet of rfc3261F1) out.push(...framer.push(Buffer.of(octet)));
    const [m] = messages(out);
    assert.equal(out.length, 1);
    assert.equal(m!.body.length, 145);
  });

  it('separates pipelined messages in one read, and a body split across reads', () => {
    const framer = new SipStreamFramer();
    const all = Buffer.concat([request(1), rfc3261F1, request(2)]);
    const cut = request(1).length + 300;
    const first = messages(framer.push(all.subarray(0, cut)));
    const rest = messages(framer.push(all.subarray(cut)));
    assert.deepEqual(first.map((m) => cseqOf(m).seq), [1]);
    assert.deepEqual(rest.map((m) => cseqOf(m).seq), [314159, 2]);
  });

  it('skips CRLFs between messages and reports a CRLFCRLF as an RFC 5626 keep-alive ping', () => {
    const framer = new SipStreamFramer();
    const out = [...framer.push(Buffer.from('\r\n\r')), ...framer.push(Buffer.concat([Buffer.from('\n'), request(3), Buffer.from('\r\n')])), ...framer.push(request(4))];
    assert.deepEqual(out.map((i) => i.kind), ['keep-alive', 'message', 'message']);
  });

  it('reports a malformed message whose framing is intact, and goes on with the next', () => {
    const framer = new SipStreamFramer();
    const bad = minimalRequest({ CSeq: '1 INVITE' });
    const out = framer.push(Buffer.concat([bad, request(5)]));
    assert.deepEqual(out.map((i) => (i.kind === 'failure' ? `${i.failure.cause}/${i.fatal}` : i.kind)), ['cseq-method-mismatch/false', 'message']);
  });

  it('gives up on a stream without Content-Length, since the next message cannot be found', () => {
    const framer = new SipStreamFramer();
    const out = framer.push(crlf('OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1', '', ''));
    assert.deepEqual(out.map((i) => (i.kind === 'failure' ? `${i.failure.cause}/${i.fatal}` : i.kind)), ['content-length-missing/true']);
    assert.deepEqual(framer.push(request(6)), [], 'nothing more is read after a fatal failure');
  });

  it('bounds the header section and the whole message', () => {
    const endless = new SipStreamFramer(1024);
    const out = [...endless.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n')), ...endless.push(Buffer.alloc(1100, 'a'))];
    const last = out.at(-1);
    assert.equal(last?.kind === 'failure' && last.failure.cause, 'message-too-large');
    const big = new SipStreamFramer(512);
    const m = parseMessage(rfc3261F1);
    assert.ok(m.ok);
    const huge = serializeMessage({ ...m.message, body: Buffer.alloc(600, 'x') });
    const result = big.push(huge.subarray(0, 400));
    assert.equal(result[0]?.kind === 'failure' && result[0].failure.cause, 'message-too-large', 'refused from the Content-Length, before the body arrives');
  });

  it('refuses two different Content-Length values', () => {
    const framer = new SipStreamFramer();
    const out = framer.push(crlf('OPTIONS sip:a@b SIP/2.0', 'Content-Length: 0', 'l: 5', '', ''));
    assert.equal(out[0]?.kind === 'failure' && out[0].failure.cause, 'content-length-invalid');
  });
});
