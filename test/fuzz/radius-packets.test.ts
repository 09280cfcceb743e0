import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { accountingEventTime } from '../../src/aaa/protocol/accounting-event-time.ts';
import { verifyAccountingRequestAuthenticator } from '../../src/aaa/protocol/accounting-request-authenticator.ts';
import { verifyChapPassword } from '../../src/aaa/protocol/chap-password.ts';
import { encodeAccessRequest, encodeAccountingRequest, encodeStatusServer } from '../../src/aaa/protocol/encode-request.ts';
import { encodeResponse } from '../../src/aaa/protocol/encode-response.ts';
import { verifyMessageAuthenticator } from '../../src/aaa/protocol/message-authenticator.ts';
import { verifyResponseAuthenticator } from '../../src/aaa/protocol/response-authenticator.ts';
import { recoverUserPassword } from '../../src/aaa/protocol/user-password.ts';
import { attributeDictionary, type AttributeName } from '../../src/aaa/wire/attribute-dictionary.ts';
import { decodePacket } from '../../src/aaa/wire/decode-packet.ts';
import { dropCauses } from '../../src/aaa/wire/drop-cause.ts';
import { encodePacket, type AttributeInput } from '../../src/aaa/wire/encode-packet.ts';
import { isRequestCode, PacketCode } from '../../src/aaa/wire/packet-code.ts';
import type { RadiusPacket } from '../../src/aaa/wire/radius-packet.ts';
import { decodeVendorSpecific, writeVendorSpecific } from '../../src/aaa/wire/vendor-specific.ts';
import { mutatedFrom } from './byte-mutations.ts';
import { fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';

// RADIUS as a NAS (or anyone who can reach UDP 1812/1813) sends it: decodePacket, every
// getter the server calls, the protocol checks that run before any store access
// (Message-Authenticator, Request Authenticators, User-Password, CHAP, event times) and
// the response the server builds from what it decoded. Complements
// test/aaa/wire/codec-properties.test.ts (fixed run counts, random attribute lists) with
// requests as the project's own NAS encoders build them, Vendor-Specific TLVs nested
// inside, and edits aimed at every length field.

const SECRET = 'fuzz-radius-shared-secret';
const reached = new Reached();
const VENDOR_SPECIFIC = attributeDictionary['Vendor-Specific'].type;
const PROXY_STATE = attributeDictionary['Proxy-State'].type;

const utf8 = (max: number) => fc.string({ minLength: 1, maxLength: max }).filter((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 253);
const octets = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max }).map((b) => Buffer.from(b));
const u32 = fc.nat({ max: 0xffffffff });

const vendorSpecific = fc.record({
  vendorId: fc.integer({ min: 1, max: 0xffffff }),
  attributes: fc.array(fc.record({ type: fc.nat(255), value: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }), { minLength: 1, maxLength: 4 }),
});

/** Attributes a NAS sends, typed through the dictionary, and some the dictionary does not know. */
const attribute: fc.Arbitrary<AttributeInput> = fc.oneof(
  utf8(40).map((value): AttributeInput => ({ name: 'User-Name', value })),
  utf8(40).map((value): AttributeInput => ({ name: 'Calling-Station-Id', value })),
  utf8(40).map((value): AttributeInput => ({ name: 'NAS-Port-Id', value })),
  fc.ipV4().map((value): AttributeInput => ({ name: 'NAS-IP-Address', value })),
  fc.ipV4().map((value): AttributeInput => ({ name: 'Framed-IP-Address', value })),
  fc.ipV6().map((value): AttributeInput => ({ name: 'NAS-IPv6-Address', value })),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, n]): AttributeInput => ({ name: 'Framed-IPv6-Prefix', value: `${a}/${n}` })),
  u32.map((value): AttributeInput => ({ name: 'NAS-Port', value })),
  u32.map((value): AttributeInput => ({ name: 'Acct-Session-Time', value })),
  u32.map((value): AttributeInput => ({ name: 'Acct-Delay-Time', value })),
  u32.map((value): AttributeInput => ({ name: 'Acct-Input-Octets', value })),
  u32.map((value): AttributeInput => ({ name: 'Acct-Input-Gigawords', value })),
  u32.map((value): AttributeInput => ({ name: 'Event-Timestamp', value })),
  octets(60).map((value): AttributeInput => ({ name: 'Class', value })),
  octets(60).map((value): AttributeInput => ({ name: 'Proxy-State', value })),
  vendorSpecific.map((value): AttributeInput => ({ name: 'Vendor-Specific', value })),
  // Not the credentials and signature the encoders add themselves; mutations reach those.
  fc.tuple(fc.integer({ min: 1, max: 255 }).filter((t) => ![2, 3, 60, 80].includes(t)), fc.uint8Array({ maxLength: 60 })).map(([type, value]): AttributeInput => ({ type, value: Buffer.from(value) })),
);

const identifier = fc.nat(255);
const authenticator = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
const password = fc.string({ minLength: 1, maxLength: 40 }).filter((p) => !p.includes('\0') && Buffer.byteLength(p) <= 128);

/** A request as the project's NAS encoders build it, with what the server should recover from it. */
interface Built {
  readonly bytes: Buffer;
  readonly password?: string;
  readonly chap?: string;
  readonly signed: boolean;
}

const validRequest: fc.Arbitrary<Built> = fc.oneof(
  fc.record({ identifier, authenticator, password, attributes: fc.array(attribute, { maxLength: 10 }), signed: fc.boolean() }).map((r) => ({
    bytes: encodeAccessRequest({ identifier: r.identifier, authenticator: r.authenticator, secret: SECRET, password: r.password, attributes: r.attributes, messageAuthenticator: r.signed }),
    password: r.password,
    signed: r.signed,
  })),
  fc.record({ identifier, authenticator, password, ident: fc.nat(255), challenge: fc.option(octets(32), { nil: undefined }), attributes: fc.array(attribute, { maxLength: 10 }), signed: fc.boolean() }).map((r) => ({
    bytes: encodeAccessRequest({ identifier: r.identifier, authenticator: r.authenticator, secret: SECRET, chap: { password: r.password, ident: r.ident, ...(r.challenge ? { challenge: r.challenge } : {}) }, attributes: r.attributes, messageAuthenticator: r.signed }),
    chap: r.password,
    signed: r.signed,
  })),
  fc.record({ identifier, status: fc.constantFrom('Start', 'Interim-Update', 'Stop', 'Accounting-On'), sessionId: utf8(30), attributes: fc.array(attribute, { maxLength: 12 }), signed: fc.boolean() }).map((r) => ({
    bytes: encodeAccountingRequest({
      identifier: r.identifier, secret: SECRET, messageAuthenticator: r.signed,
      attributes: [{ name: 'Acct-Status-Type', value: r.status as 'Start' }, { name: 'Acct-Session-Id', value: r.sessionId }, ...r.attributes],
    }),
    signed: r.signed,
  })),
  fc.record({ identifier, attributes: fc.array(attribute, { maxLength: 6 }) }).map((r) => ({ bytes: encodeStatusServer({ identifier: r.identifier, secret: SECRET, attributes: r.attributes }), signed: true })),
  // Proxies chained deep enough that the copied Proxy-States nearly fill a packet.
  fc.record({ identifier, fill: fc.integer({ min: 3800, max: 4020 }), kind: fc.constantFrom('access', 'status') }).map((r) => {
    const proxyStates: AttributeInput[] = [];
    for (let left = r.fill; left > 2; left -= 255) proxyStates.push({ name: 'Proxy-State', value: Buffer.alloc(Math.min(253, left - 2), proxyStates.length) });
    if (r.kind === 'status') return { bytes: encodeStatusServer({ identifier: r.identifier, secret: SECRET, attributes: proxyStates }), signed: true };
    return { bytes: encodeAccessRequest({ identifier: r.identifier, secret: SECRET, password: 'proxy-pass', attributes: [{ name: 'User-Name', value: 'u' }, ...proxyStates] }), password: 'proxy-pass', signed: true };
  }),
);

/** Offsets of the packet's Length field, of each attribute's Length octet, and of those inside Vendor-Specific values. */
function radiusHotSpots(bytes: Uint8Array): number[] {
  const spots = [2];
  const length = Math.min(bytes.length, ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0));
  for (let at = 20; at + 1 < length && bytes[at + 1]! >= 2; at += bytes[at + 1]!) {
    spots.push(at + 1);
    if (bytes[at] === VENDOR_SPECIFIC) {
      const end = at + bytes[at + 1]!;
      for (let inner = at + 6; inner + 1 < end && bytes[inner + 1]! >= 2; inner += bytes[inner + 1]!) spots.push(inner + 1);
    }
  }
  return spots;
}

type Input = { readonly bytes: Buffer; readonly intact?: Built };

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((b) => ({ bytes: Buffer.from(b) })) },
  {
    weight: 1,
    // Random octets behind a header that passes the first checks.
    arbitrary: fc.tuple(fc.constantFrom(...Object.values(PacketCode)), identifier, fc.uint8Array({ minLength: 16, maxLength: 500 }), fc.boolean()).map(([code, id, rest, fit]) => {
      const bytes = Buffer.concat([Buffer.of(code, id, 0, 0), rest]);
      bytes.writeUInt16BE(fit ? bytes.length : Math.min(4096, 20 + rest.length * 2), 2);
      return { bytes };
    }),
  },
  { weight: 2, arbitrary: validRequest.map((built) => ({ bytes: built.bytes, intact: built })) },
  { weight: 6, arbitrary: mutatedFrom(validRequest, (b) => b.bytes, radiusHotSpots).map((bytes) => ({ bytes })) },
);

/** Every typed getter on every dictionary attribute, and the Vendor-Specific reader. */
function readEveryAttribute(packet: RadiusPacket): void {
  const p = packet as unknown as Record<string, (name: string) => unknown>;
  const getter: Record<string, string> = { text: 'text', integer: 'integer', time: 'time', address: 'ipv4', ipv6addr: 'ipv6', ipv6prefix: 'ipv6Prefix' };
  for (const [name, { dataType }] of Object.entries(attributeDictionary) as [AttributeName, { dataType: string }][]) {
    packet.has(name);
    packet.count(name);
    packet.octets(name);
    const read = getter[dataType];
    if (read !== undefined) p[read]!.call(packet, name);
  }
  for (const vsa of packet.vendorSpecific()) {
    // RFC 2865 §5.26: the vendor attributes fill the value after the Vendor-Id exactly.
    assert.ok(vsa.vendorId <= 0xffffff && vsa.attributes.length >= 1);
  }
}

function checkRadius({ bytes, intact }: Input): void {
  const result = decodePacket(bytes);
  if (!result.ok) {
    assert.ok(dropCauses.includes(result.cause), `unlisted drop cause ${String(result.cause)}`);
    reached.hit(`dropped ${result.cause}`);
    assert.equal(intact, undefined, `a request the project's encoder built was dropped: ${result.cause}`);
    return;
  }
  const packet = result.packet;
  reached.hit(intact === undefined ? 'decoded' : 'decoded intact');

  // Bounded: exactly Length octets, and attributes that tile them.
  const length = bytes.readUInt16BE(2);
  assert.ok(length >= 20 && length <= 4096 && length <= bytes.length);
  assert.equal(packet.raw.length, length);
  const attributes = packet.attributes;
  assert.ok(attributes.length <= (length - 20) / 2);
  assert.equal(attributes.reduce((n, a) => n + 2 + a.value.length, 20), length);
  for (const a of attributes) {
    if (a.vendorSpecific === undefined) continue;
    assert.equal(a.vendorSpecific.attributes.reduce((n, v) => n + 2 + v.value.length, 4), a.value.length);
    // Nested TLVs round-trip through the writer.
    if (a.vendorSpecific.vendorId >= 1) {
      const again = Buffer.alloc(a.value.length);
      assert.equal(writeVendorSpecific(a.vendorSpecific, again, 0), a.value.length);
      assert.deepEqual(again, a.value);
      assert.deepEqual(decodeVendorSpecific(again), a.vendorSpecific);
    }
  }
  readEveryAttribute(packet);

  // Round trip: what decodes encodes to the same octets. Type 0 is not an attribute
  // encodePacket writes (RFC 2865 §5 assigns types from 1).
  if (attributes.every((a) => a.type >= 1)) {
    const again = encodePacket({ code: packet.code, identifier: packet.identifier, authenticator: packet.authenticator, attributes: attributes.map((a) => ({ type: a.type, value: a.value })) });
    assert.deepEqual(again, packet.raw);
    reached.hit('round-tripped');
  }

  // The checks the server runs before it touches the store: each answers from a closed set.
  const isRequest = isRequestCode(packet.code);
  const original = { code: 'Access-Request' as const, authenticator: Buffer.alloc(16, 7) };
  const ma = verifyMessageAuthenticator(packet, SECRET, isRequest ? undefined : original);
  assert.ok(['absent', 'valid', 'invalid'].includes(ma));
  if (intact === undefined && ma === 'valid') reached.hit('mutated yet signed');
  const chap = verifyChapPassword(packet, 'some password');
  assert.ok(['absent', 'malformed', 'valid', 'invalid'].includes(chap));
  const hidden = packet.octets('User-Password');
  const recovered = hidden === undefined ? undefined : recoverUserPassword(hidden, SECRET, packet.authenticator);
  if (recovered !== undefined && !recovered.ok) assert.equal(recovered.cause, 'length-invalid');
  const accountingSigned = verifyAccountingRequestAuthenticator(packet, SECRET);
  const eventTimestamp = packet.time('Event-Timestamp');
  const time = accountingEventTime({
    eventTimestamp: eventTimestamp ? Math.floor(eventTimestamp.getTime() / 1000) : null,
    acctDelayTime: packet.integer('Acct-Delay-Time') ?? null,
    receivedAt: 1_750_000_000_000, maxDelayMs: 86_400_000, maxAheadMs: 60_000,
  });
  assert.ok(time.ok ? Number.isFinite(time.at) : Number.isFinite(time.claimed) && !Number.isNaN(new Date(time.claimed).getTime()));

  if (isRequest) checkResponse(packet);

  // A request straight from the encoder passes every check with the secret it was built with.
  if (intact !== undefined) {
    assert.equal(ma, intact.signed ? 'valid' : 'absent');
    if (intact.password !== undefined) assert.deepEqual(recovered, { ok: true, password: intact.password });
    if (intact.chap !== undefined) assert.equal(verifyChapPassword(packet, intact.chap), 'valid');
    if (packet.code === 'Accounting-Request') assert.ok(accountingSigned);
  }
}

/**
 * The server answers a request with Message-Authenticator first and the request's
 * Proxy-States copied in order (RFC 2865 §4.2). That can only fail, with the RangeError
 * encodePacket documents, when the copies would not fit in 4096 octets.
 */
function checkResponse(request: RadiusPacket): void {
  const answers = { 'Access-Request': 'Access-Reject', 'Accounting-Request': 'Accounting-Response', 'Status-Server': 'Access-Accept', 'Disconnect-Request': 'Disconnect-ACK', 'CoA-Request': 'CoA-ACK' } as const;
  const code = answers[request.code as keyof typeof answers];
  const attributes: AttributeInput[] = code === 'Access-Reject' ? [{ name: 'Reply-Message', value: 'The login or password is wrong. (AAA_CREDENTIALS_REJECTED)' }] : [];
  const proxyStates = request.allOctets(PROXY_STATE);
  const expected = 20 + 18 + (code === 'Access-Reject' ? 2 + Buffer.byteLength((attributes[0] as { value: string }).value) : 0) + proxyStates.reduce((n, v) => n + 2 + v.length, 0);
  let response: Buffer;
  try {
    response = encodeResponse({ request, code, secret: SECRET, attributes });
  } catch (e) {
    assert.ok(e instanceof RangeError && expected > 4096, `encodeResponse threw ${String(e)} for a response of ${expected} octets`);
    reached.hit('response too large');
    return;
  }
  assert.ok(expected <= 4096);
  const decoded = decodePacket(response);
  assert.ok(decoded.ok);
  assert.equal(decoded.packet.identifier, request.identifier);
  assert.equal(verifyMessageAuthenticator(decoded.packet, SECRET, request), 'valid');
  assert.ok(verifyResponseAuthenticator(decoded.packet, request, SECRET));
  assert.deepEqual(decoded.packet.allOctets(PROXY_STATE), proxyStates);
  reached.hit('answered');
}

describe('RADIUS fuzzing', () => {
  it('decodes, reads, checks and answers any datagram without an undocumented throw, and round-trips what it decodes', { timeout: fuzzTestTimeout }, (t) => {
    fuzzWithinBudget(t, input, checkRadius);
    reached.diagnose(t);
  });
});
