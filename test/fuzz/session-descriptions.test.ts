import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sdpFailureCauses, formatSessionDescription, parseSessionDescription, type SessionDescription, describeTlsStream, readTlsStream, type TlsStreamMedia } from '@sideband/sip/sdp';
import { fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';
import { mutatedText } from './text-mutations.ts';

// SDP (RFC 4566) as the secure channel's calls carry it: the offer and answer describing
// a TLS stream over TCP (RFC 4145, RFC 8122). Bodies are generated line by line, then
// edited with SDP's own delimiters. What parses must format and parse back the same, and
// a described stream must read back as described. Complements the random a= values of
// test/channel/sip/codec-properties.test.ts.

const printable = (s: string): string => [...s].filter((c) => c >= ' ' && c !== '\x7f').join('');
const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,12}$/);
const hex = fc.stringMatching(/^[0-9A-Fa-f]{2}$/);
const fingerprint = fc.tuple(fc.constantFrom('sha-1', 'sha-256', 'SHA-256', 'sha-512', 'md5', 'sha-3'), fc.array(hex, { minLength: 1, maxLength: 32 }))
  .map(([hash, octets]) => ({ hashFunction: hash, value: octets.join(':') }));
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
const addrType = (a: string) => (a.includes(':') ? 'IP6' : 'IP4');

const attribute = fc.oneof(
  fc.constantFrom('setup:active', 'setup:passive', 'setup:actpass', 'setup:holdconn', 'setup:bogus', 'connection:new', 'connection:existing', 'connection:later', 'sendrecv', 'rtpmap:0 PCMU/8000'),
  fingerprint.map((f) => `fingerprint:${f.hashFunction} ${f.value}`),
  fc.tuple(token, fc.option(fc.string({ maxLength: 20 }).map(printable), { nil: null })).map(([n, v]) => (v === null ? n : `${n}:${v}`)),
);

const media = fc.record({
  media: fc.constantFrom('application', 'audio', 'video', 'message'),
  port: fc.oneof(fc.nat(65535), fc.constant(9)),
  proto: fc.constantFrom('TCP/TLS', 'tcp/tls', 'RTP/AVP', 'TCP/DTLS/SCTP', 'UDP'),
  formats: fc.array(fc.oneof(fc.constant('*'), token), { minLength: 1, maxLength: 3 }),
  connection: fc.option(address, { nil: null }),
  attributes: fc.array(attribute, { maxLength: 5 }),
});

/** A body as a peer writes it: v, o, s first, then any of c, t, i/u/e/b, a and m sections. */
const sdpText: fc.Arbitrary<string> = fc.record({
  username: fc.oneof(fc.constant('-'), token),
  sessionId: fc.nat().map(String),
  version: fc.nat().map(String),
  origin: address,
  name: fc.oneof(fc.constant('-'), fc.constant(''), fc.constant(' '), fc.string({ maxLength: 12 }).map(printable)),
  connection: fc.option(address, { nil: null }),
  extras: fc.array(fc.constantFrom('i=A call', 'u=http://example.com/', 'e=a@example.com', 'b=AS:64', 'r=7d 1h 0 25h', 'z=2882844526 -1h', 'k=prompt'), { maxLength: 2 }),
  timing: fc.boolean(),
  attributes: fc.array(attribute, { maxLength: 4 }),
  media: fc.array(media, { maxLength: 3 }),
  lf: fc.boolean(),
}).map((s) => {
  const lines = ['v=0', `o=${s.username} ${s.sessionId} ${s.version} IN ${addrType(s.origin)} ${s.origin}`, `s=${s.name}`, ...s.extras];
  if (s.connection !== null) lines.push(`c=IN ${addrType(s.connection)} ${s.connection}`);
  if (s.timing) lines.push('t=0 0');
  for (const a of s.attributes) lines.push(`a=${a}`);
  for (const m of s.media) {
    lines.push(`m=${m.media} ${m.port} ${m.proto} ${m.formats.join(' ')}`);
    if (m.connection !== null) lines.push(`c=IN ${addrType(m.connection)} ${m.connection}`);
    for (const a of m.attributes) lines.push(`a=${a}`);
  }
  const eol = s.lf ? '\n' : '\r\n';
  return lines.join(eol) + eol;
});

const sdpFragments = ['\r\n', '\n', ' ', '=', ':', '/', 'a=', 'm=', 'c=', 't=0 0', 'IN IP4 ', 'IN IP6 ', 'TCP/TLS', 'a=fingerprint:', 'a=setup:', 'sha-256 ', 'AB:', '\0', '\t', '\u00e9', '65536', '99999'];

const tlsStream: fc.Arbitrary<TlsStreamMedia> = fc.record({
  address: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.nat(65535),
  setup: fc.constantFrom('active', 'passive', 'actpass', 'holdconn'),
  connection: fc.constantFrom('new', 'existing'),
  fingerprints: fc.array(fingerprint.filter((f) => f.hashFunction.toLowerCase() !== 'sha-3'), { minLength: 1, maxLength: 3 }),
  format: fc.oneof(fc.constant('*'), token),
});

/** An offer or answer as describeTlsStream writes it, with what it describes. */
const described = fc.tuple(tlsStream, fc.record({ username: token, sessionId: fc.nat().map(String), sessionVersion: fc.nat().map(String) }))
  .map(([media, origin]) => ({ text: describeTlsStream(media, origin), media }));

const input: fc.Arbitrary<{ text: string; media?: TlsStreamMedia }> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((text) => ({ text })) },
  { weight: 3, arbitrary: sdpText.map((text) => ({ text })) },
  { weight: 1, arbitrary: described },
  { weight: 6, arbitrary: mutatedText(fc.oneof(sdpText, described.map((d) => d.text)), sdpFragments).map((text) => ({ text })) },
);

/** s= is required to be non-empty; formatting writes "-" for an empty name (RFC 4566 §5.3). */
const normalized = (sd: SessionDescription): SessionDescription => ({ ...sd, sessionName: sd.sessionName || '-' });

function checkBody({ text, media }: { text: string; media?: TlsStreamMedia }, reached: Reached): void {
  const result = parseSessionDescription(text);
  assert.ok(media === undefined || result.ok, 'a described stream does not parse');
  if (!result.ok) {
    assert.ok(sdpFailureCauses.includes(result.cause), `unlisted cause ${result.cause}`);
    reached.hit(`refused ${result.cause}`);
    return;
  }
  const sd = result.value;
  // Bounded, as the parser promises.
  assert.ok(sd.media.length <= 16 && sd.attributes.length + sd.media.reduce((n, m) => n + m.attributes.length, 0) <= 128);
  for (const m of sd.media) assert.ok(Number.isInteger(m.port) && m.port >= 0 && m.port <= 65535 && m.formats.length >= 1);
  // Round trip: formatted, it parses to the same description, and formatting that changes nothing.
  const formatted = formatSessionDescription(sd);
  const again = parseSessionDescription(formatted);
  assert.ok(again.ok, `the formatted body does not parse: ${again.ok ? '' : `${again.cause} ${again.detail}`}`);
  assert.deepEqual(again.value, normalized(sd));
  assert.equal(formatSessionDescription(again.value), formatted);
  reached.hit('round-tripped');

  const stream = readTlsStream(sd);
  if (media !== undefined) {
    // Round trip: a described stream reads back as described (hash names lower-case, octets upper-case).
    const fingerprints = media.fingerprints.map((f) => ({ hashFunction: f.hashFunction.toLowerCase(), value: f.value.toUpperCase() }));
    assert.deepEqual(stream, { ok: true, value: { ...media, fingerprints } });
    reached.hit('described stream read back');
  }
  if (!stream.ok) {
    assert.ok(sdpFailureCauses.includes(stream.cause), `unlisted cause ${stream.cause}`);
    reached.hit(`no stream: ${stream.cause}`);
    return;
  }
  const s = stream.value;
  assert.ok(s.fingerprints.length >= 1 && s.fingerprints.every((f) => /^(?:[0-9A-F]{2}:)*[0-9A-F]{2}$/.test(f.value)));
  assert.ok(['active', 'passive', 'actpass', 'holdconn'].includes(s.setup) && ['new', 'existing'].includes(s.connection));
  assert.deepEqual(readTlsStream(formatted), stream, 'the stream reads the same from the formatted body');
  reached.hit('stream read');
}

describe('SDP fuzzing', () => {
  it('reads any body as a description or a listed failure; what it reads formats and parses back the same, and a described stream reads back as described', { timeout: fuzzTestTimeout }, (t) => {
    const reached = new Reached();
    fuzzWithinBudget(t, input, (i) => checkBody(i, reached));
    reached.diagnose(t);
  });
});
