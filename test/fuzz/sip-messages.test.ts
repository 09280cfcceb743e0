import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDigestChallenge, parseDigestChallenge, formatDigestCredentials, parseDigestCredentials } from '@sideband/sip/protocol';
import { formatCSeq, parseCSeq, formatParams, parseParams, callIdOf, cseqOf, fromOf, toOf, topViaOf, viasOf, formatNameAddress, parseNameAddress, sipParseFailureCauses, parseMessage, serializeMessage, type SipMessage, formatSipUri, parseSipUri, type SipUri, splitList, SipStreamFramer, type FramedItem, formatUri, parseUri, formatVia, parseVia } from '@sideband/sip/wire';
import { fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';
import { mutatedText } from './text-mutations.ts';

// SIP as the exchange and the SDK's user agent read it (RFC 3261): whole messages from a
// datagram, messages framed out of a TCP byte stream, and the header values every later
// layer parses (URIs, name-addr, Via, CSeq, parameters, Digest). Messages are generated
// from the grammar, then edited with the grammar's own delimiters. What parses must
// serialize and parse back the same. Complements test/channel/sip/codec-properties.test.ts,
// which mutates three fixed messages and feeds random text to the header parsers.

/** Without control characters, which no header line may hold (RFC 3261 §25.1). */
const printable = (s: string): string => [...s].filter((c) => c >= ' ' && c !== '\x7f').join('');

const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,12}$/);
// RFC 3261 §25.1 uri-parameter names and values: unreserved and param-unreserved characters.
const uriToken = fc.stringMatching(/^[A-Za-z0-9\-_.!~*'[\]/:&+$]{1,10}$/);
const word = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~()<>:\\"/[\]?{}-]{1,16}$/);
const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6());
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null });
const paramValue = fc.option(fc.oneof(token, fc.constantFrom('udp', 'tcp', 'phone', '5', '[2001:db8::1]')), { nil: null });
const params = fc.array(fc.tuple(token, paramValue), { maxLength: 3 }).map((entries) => new Map(entries.map(([k, v]) => [k.toLowerCase(), v])));

const sipUri: fc.Arbitrary<SipUri> = fc.record({
  scheme: fc.constantFrom<'sip' | 'sips'>('sip', 'sips'),
  user: fc.option(fc.oneof(fc.stringMatching(/^\+?[0-9]{3,15}$/), token, fc.string({ minLength: 1, maxLength: 12 })), { nil: null }),
  // Deprecated (RFC 3261 §19.1.1) but parsed, so formatted too.
  password: fc.option(fc.string({ maxLength: 8 }), { nil: null, freq: 8 }),
  host,
  port,
  params: fc.array(fc.tuple(uriToken, fc.option(uriToken, { nil: null })), { maxLength: 3 }).map((entries) => new Map(entries.map(([k, v]) => [k.toLowerCase(), v]))),
  headers: fc.option(fc.constantFrom('subject=project%20x', 'priority=urgent&to=alice'), { nil: null }),
});
const uriText = fc.oneof({ weight: 5, arbitrary: sipUri.map(formatSipUri) }, { weight: 1, arbitrary: fc.stringMatching(/^\+?[0-9]{3,15}$/).map((n) => `tel:${n}`) });

const displayName = fc.option(fc.oneof(token.map((t) => t), fc.string({ maxLength: 16 }).map((s) => `"${printable(s).replace(/[\\"]/g, '\\$&')}"`)), { nil: null });
const nameAddr = fc.tuple(displayName, uriText, params).map(([name, uri, p]) => `${name === null ? '' : `${name} `}<${uri}>${formatParams(p)}`);
const via = fc.tuple(fc.constantFrom('UDP', 'TCP', 'TLS', 'udp'), host, port, token, params)
  .map(([transport, h, p, branch, extra]) => `SIP/2.0/${transport} ${h.includes(':') ? `[${h}]` : h}${p === null ? '' : `:${p}`};branch=z9hG4bK${branch}${formatParams(extra)}`);
const method = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'MESSAGE', 'INFO') }, { weight: 1, arbitrary: token });
const digest = fc.tuple(token, word, fc.stringMatching(/^[0-9a-f]{32}$/), uriText).map(([user, nonce, response, uri]) =>
  `Digest username="${user}", realm="sideband", nonce="${nonce.replace(/[\\"]/g, '')}", uri="${uri}", response="${response}", algorithm=MD5`);

/** A message as a peer writes it, header order, compact forms, folding and line ends varied. */
const sipText: fc.Arbitrary<string> = fc.record({
  request: fc.boolean(),
  method,
  uri: uriText,
  status: fc.integer({ min: 100, max: 699 }),
  reason: fc.string({ maxLength: 20 }).map(printable),
  vias: fc.array(via, { minLength: 1, maxLength: 3 }),
  joinVias: fc.boolean(),
  from: nameAddr.map((a) => `${a};tag=${Math.abs(a.length * 7919)}`),
  to: nameAddr,
  callId: fc.tuple(word, fc.option(word, { nil: null })).map(([a, b]) => (b === null ? a : `${a}@${b}`)),
  seq: fc.nat(2 ** 31 - 1),
  maxForwards: fc.option(fc.nat(255), { nil: null }),
  extra: fc.array(fc.oneof(
    nameAddr.map((v) => ['Contact', v] as const),
    nameAddr.map((v) => ['Record-Route', v] as const),
    digest.map((v) => ['Authorization', v] as const),
    fc.constant(['Content-Type', 'application/sdp'] as const),
    fc.tuple(token, fc.string({ maxLength: 30 }).map(printable)).map(([n, v]) => [`X-${n}`, v] as const),
  ), { maxLength: 4 }),
  compact: fc.boolean(),
  fold: fc.boolean(),
  lf: fc.boolean(),
  body: fc.oneof(fc.constant(''), fc.string({ maxLength: 80 }), fc.constant('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n')),
  contentLength: fc.constantFrom('right', 'absent', 'short', 'long'),
}).map((m) => {
  const name = (full: string, compact: string) => (m.compact ? compact : full);
  const lines = [m.request ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`];
  if (m.joinVias) lines.push(`${name('Via', 'v')}: ${m.vias.join(', ')}`);
  else for (const v of m.vias) lines.push(`${name('Via', 'v')}: ${v}`);
  lines.push(`${name('From', 'f')}: ${m.from}`, `${name('To', 't')}:${m.fold ? '\r\n ' : ' '}${m.to}`, `${name('Call-ID', 'i')}: ${m.callId}`, `CSeq: ${m.seq} ${m.request ? m.method : 'INVITE'}`);
  if (m.maxForwards !== null) lines.push(`Max-Forwards: ${m.maxForwards}`);
  for (const [n, v] of m.extra) lines.push(`${n}: ${v}`);
  const bodyLength = Buffer.byteLength(m.body);
  const length = { right: bodyLength, absent: null, short: Math.max(0, bodyLength - 3), long: bodyLength + 5 }[m.contentLength];
  if (length !== null) lines.push(`${name('Content-Length', 'l')}: ${length}`);
  const eol = m.lf ? '\n' : '\r\n';
  return `${lines.join(eol)}${eol}${eol}${m.body}`;
});

const sipFragments = ['\r\n', '\n', '\r\n\r\n', ' ', '\t', '\r\n ', ';', ',', ':', '<', '>', '"', '\\', '@', '%', '%2', '[', ']', '=', '/', 'sip:', 'tel:', 'SIP/2.0', 'z9hG4bK', ';tag=', ';branch=', 'Via: ', 'Content-Length: ', 'l: 9', 'CSeq: 1 ', '\0', '\u00e9', '\ud800', '\x7f', '9999999999'];

const datagram: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 800 }).map((b) => Buffer.from(b)) },
  { weight: 3, arbitrary: sipText.map((s) => Buffer.from(s)) },
  { weight: 6, arbitrary: mutatedText(sipText, sipFragments).map((s) => Buffer.from(s)) },
);

/** The parts a message is: start line, header fields (without Content-Length, which serializing recomputes), body. */
function parts(m: SipMessage): unknown {
  const start = m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason];
  return { kind: m.kind, start, headers: m.headers.entries().filter((f) => f.key !== 'content-length').map((f) => [f.name, f.value]), body: m.body };
}

/** What every later layer reads off a parsed message: none of it may throw (message-fields.ts throws only on a bug). */
function readFields(m: SipMessage): void {
  callIdOf(m);
  cseqOf(m);
  fromOf(m);
  toOf(m);
  const vias = viasOf(m);
  assert.ok(vias.length >= 1 && vias.length <= 64);
  topViaOf(m);
  for (const key of ['contact', 'route', 'record-route']) for (const v of m.headers.getAll(key)) parseNameAddress(v);
  for (const key of ['authorization', 'proxy-authorization']) { const v = m.headers.get(key); if (v !== undefined) parseDigestCredentials(v); }
}

function checkDatagram(bytes: Buffer, reached: Reached): void {
  const result = parseMessage(bytes);
  if (!result.ok) {
    assert.ok(sipParseFailureCauses.includes(result.cause), `unlisted cause ${result.cause}`);
    assert.equal(typeof result.detail, 'string');
    reached.hit(`refused ${result.cause}`);
    return;
  }
  const m = result.message;
  reached.hit(`parsed ${m.kind}`);
  // Bounded: the message is no larger than the datagram, and its fields are few.
  assert.ok(m.body.length <= bytes.length);
  assert.ok(m.headers.entries().length <= 256);
  readFields(m);
  // Round trip: serialized, it parses to the same message, and serializing that changes nothing.
  const serialized = serializeMessage(m);
  const again = parseMessage(serialized);
  assert.ok(again.ok, `the serialized message does not parse: ${again.ok ? '' : again.cause}`);
  assert.deepEqual(parts(again.message), parts(m));
  assert.deepEqual(serializeMessage(again.message), serialized);
  // And a stream framer cuts the same message out of it.
  const framed = new SipStreamFramer().push(serialized);
  assert.equal(framed.length, 1);
  assert.equal(framed[0]!.kind, 'message');
  assert.deepEqual(parts((framed[0] as Extract<FramedItem, { kind: 'message' }>).message), parts(m));
  reached.hit('round-tripped');
}

/** Valid messages (serialized, so each carries its Content-Length), keep-alives and junk, cut into chunks anywhere. */
const byteStream = fc.record({
  items: fc.array(fc.oneof(
    { weight: 4, arbitrary: sipText.map((s) => ({ bytes: Buffer.from(s), valid: true })) },
    { weight: 1, arbitrary: fc.constantFrom('\r\n\r\n', '\r\n').map((s) => ({ bytes: Buffer.from(s), valid: false })) },
    { weight: 2, arbitrary: mutatedText(sipText, sipFragments).map((s) => ({ bytes: Buffer.from(s), valid: false })) },
  ), { minLength: 1, maxLength: 6 }),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  max: fc.constantFrom(65_535, 1024, 300),
});

type ByteStream = typeof byteStream extends fc.Arbitrary<infer T> ? T : never;

function checkStream({ items, cuts, max }: ByteStream, reached: Reached): void {
  // What parses as a datagram with a Content-Length is what a stream should yield.
  const expected: unknown[] = [];
  let clean = true;
  const chunks: Buffer[] = [];
  for (const item of items) {
    let bytes: Buffer = item.bytes;
    const alone = parseMessage(bytes);
    if (item.valid && alone.ok) {
      bytes = serializeMessage(alone.message);
      if (bytes.length > max) clean = false;
      expected.push(parts(alone.message));
    } else if (item.valid || (bytes.toString() !== '\r\n' && bytes.toString() !== '\r\n\r\n')) {
      clean = false;
    }
    chunks.push(bytes);
  }
  const whole = Buffer.concat(chunks);
  const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
  const framer = new SipStreamFramer(max);
  const out: FramedItem[] = [];
  let from = 0;
  for (const to of [...points, whole.length]) {
    const items = framer.push(whole.subarray(from, to));
    from = to;
    // Once the framing is lost, the framer reports it once and yields nothing more.
    if (out.some((i) => i.kind === 'failure' && i.fatal)) assert.deepEqual(items, []);
    out.push(...items);
  }
  let total = 0;
  for (const item of out) {
    if (item.kind === 'failure') {
      assert.ok(sipParseFailureCauses.includes(item.failure.cause));
      reached.hit(`${item.fatal ? 'fatal' : 'skipped'} ${item.failure.cause}`);
    } else if (item.kind === 'message') {
      total += serializeMessage(item.message).length;
      readFields(item.message);
    }
  }
  // Bounded: what comes out is no more than what went in (serializing only normalizes).
  assert.ok(out.filter((i) => i.kind === 'message').length <= Math.ceil(whole.length / 20));
  assert.ok(total <= whole.length * 2 + 64);
  if (clean) {
    // Round trip: however the stream was cut, the valid messages come out whole and in order.
    assert.deepEqual(out.filter((i) => i.kind !== 'keep-alive').map((i) => (i.kind === 'message' ? parts(i.message) : i)), expected);
    reached.hit('clean stream');
  }
}

/** Header values as generated, and the same edited. */
const headerValue = fc.oneof(
  uriText.map((v) => ({ kind: 'uri' as const, v })),
  nameAddr.map((v) => ({ kind: 'name-addr' as const, v })),
  via.map((v) => ({ kind: 'via' as const, v })),
  fc.tuple(fc.nat(2 ** 31), method).map(([n, m]) => ({ kind: 'cseq' as const, v: `${n} ${m}` })),
  params.map((p) => ({ kind: 'params' as const, v: formatParams(p) })),
  digest.map((v) => ({ kind: 'credentials' as const, v })),
  fc.tuple(word, word).map(([realm, nonce]) => ({ kind: 'challenge' as const, v: `Digest realm="${realm.replace(/[\\"]/g, '')}", nonce="${nonce.replace(/[\\"]/g, '')}", qop="auth", algorithm=MD5, stale=false` })),
).chain((h) => fc.oneof(fc.constant(h), mutatedText(fc.constant(h.v), sipFragments, 3).map((v) => ({ kind: h.kind, v }))));

/** Parses, formats and parses again; both parses must agree. */
function roundTrip<T>(text: string, parse: (t: string) => { ok: true; value: T } | { ok: false; cause: string }, format: (v: T) => string, reached: Reached, kind: string): void {
  const first = parse(text);
  if (!first.ok) {
    assert.ok((sipParseFailureCauses as readonly string[]).includes(first.cause), `unlisted cause ${first.cause}`);
    return;
  }
  const formatted = format(first.value);
  const second = parse(formatted);
  assert.ok(second.ok, `${kind}: ${JSON.stringify(formatted)} (formatted from ${JSON.stringify(text)}) does not parse: ${second.ok ? '' : second.cause}`);
  assert.deepEqual(second.value, first.value, `${kind}: ${JSON.stringify(text)} → ${JSON.stringify(formatted)}`);
  reached.hit(`${kind} round-tripped`);
}

function checkHeaderValue({ kind, v }: { kind: string; v: string }, reached: Reached): void {
  splitList(v);
  roundTrip(v, parseUri, formatUri, reached, 'uri');
  roundTrip(v, parseSipUri, formatSipUri, reached, 'sip-uri');
  roundTrip(v, parseNameAddress, formatNameAddress, reached, 'name-addr');
  roundTrip(v, parseVia, formatVia, reached, 'via');
  roundTrip(v, parseCSeq, formatCSeq, reached, 'cseq');
  roundTrip(v, (t) => parseParams(t), formatParams, reached, 'params');
  roundTrip(v, parseDigestChallenge, formatDigestChallenge, reached, 'challenge');
  roundTrip(v, parseDigestCredentials, formatDigestCredentials, reached, 'credentials');
  reached.hit(kind);
}

describe('SIP fuzzing', () => {
  it('reads any datagram as a message or a listed failure, and what it reads serializes and parses back the same', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, datagram, (bytes) => checkDatagram(bytes, reached));
    reached.diagnose(t);
  });

  it('frames any byte stream cut anywhere, and yields the valid messages of a clean stream whole and in order', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, byteStream, (s) => checkStream(s, reached));
    reached.diagnose(t);
  });

  it('parses header values (URI, name-addr, Via, CSeq, parameters, Digest) that format and parse back the same', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, headerValue, (h) => checkHeaderValue(h, reached));
    reached.diagnose(t);
  });
});
