import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { attributeDictionary, type AttributeName } from '../../../src/aaa/wire/attribute-dictionary.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { dropCauses } from '../../../src/aaa/wire/drop-cause.ts';
import { encodePacket } from '../../../src/aaa/wire/encode-packet.ts';
import { PacketCode, type PacketCodeName } from '../../../src/aaa/wire/packet-code.ts';
import type { RadiusPacket } from '../../../src/aaa/wire/radius-packet.ts';

const codeNames = Object.keys(PacketCode) as PacketCodeName[];

const rawAttribute = fc.tuple(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 253 })).map(([type, value]) => ({ type, value: Buffer.from(value) }));

/** Attribute lists that fit one packet. */
const rawAttributes = fc.array(rawAttribute, { maxLength: 40 }).filter((list) => list.reduce((n, a) => n + 2 + a.value.length, 20) <= 4096);

const validPacket = fc.tuple(fc.constantFrom(...codeNames), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), rawAttributes)
  .map(([code, identifier, authenticator, attributes]) => ({ code, identifier, authenticator: Buffer.from(authenticator), attributes }));

/** Every getter, on every dictionary attribute: none may throw on anything decodePacket accepts. */
function readEverything(packet: RadiusPacket): void {
  void packet.attributes;
  void packet.vendorSpecific();
  for (const [name, { dataType }] of Object.entries(attributeDictionary) as [AttributeName, { dataType: string }][]) {
    packet.count(name);
    packet.allOctets(name);
    const p = packet as unknown as Record<string, (n: string) => unknown>;
    const getter = { text: 'text', integer: 'integer', time: 'time', address: 'ipv4', ipv6addr: 'ipv6', ipv6prefix: 'ipv6Prefix' }[dataType];
    if (getter !== undefined) p[getter]!.call(packet, name);
  }
}

function assertDecodes(buf: Buffer): void {
  const result = decodePacket(buf);
  if (result.ok) {
    assert.ok(result.packet.raw.length >= 20 && result.packet.raw.length <= 4096);
    readEverything(result.packet);
  } else {
    assert.ok(dropCauses.includes(result.cause), `unlisted cause ${String(result.cause)}`);
  }
}

describe('codec properties', () => {
  it('decodes any byte string to a packet or a listed drop cause, without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => assertDecodes(Buffer.from(bytes))), { numRuns: 5000 });
  });

  it('does the same for byte strings that start like a RADIUS header', () => {
    const plausible = fc.tuple(fc.constantFrom(1, 2, 3, 4, 5, 11, 12), fc.nat(255), fc.integer({ min: 0, max: 320 }), fc.uint8Array({ minLength: 16, maxLength: 300 }))
      .map(([code, id, length, rest]) => {
        const buf = Buffer.concat([Buffer.of(code, id, length >> 8, length & 0xff), Buffer.from(rest)]);
        return buf;
      });
    fc.assert(fc.property(plausible, assertDecodes), { numRuns: 5000 });
  });

  it('survives mutations of valid packets: flipped octets, truncation, extension', () => {
    const mutated = fc.tuple(validPacket, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }), fc.nat(), fc.uint8Array({ maxLength: 32 }))
      .map(([input, flips, cut, tail]) => {
        const buf = Buffer.from(encodePacket(input));
        for (const [at, octet] of flips) buf[at % buf.length] = octet;
        return Buffer.concat([buf.subarray(0, buf.length - (cut % (buf.length + 1))), Buffer.from(tail)]);
      });
    fc.assert(fc.property(mutated, assertDecodes), { numRuns: 3000 });
  });

  it('decodes what it encodes: code, identifier, authenticator and attributes in order', () => {
    fc.assert(fc.property(validPacket, (input) => {
      const encoded = encodePacket(input);
      const result = decodePacket(encoded);
      assert.ok(result.ok);
      assert.equal(result.packet.code, input.code);
      assert.equal(result.packet.identifier, input.identifier);
      assert.deepEqual(result.packet.authenticator, input.authenticator);
      assert.deepEqual(result.packet.attributes.map((a) => ({ type: a.type, value: a.value })), input.attributes);
      assert.deepEqual(encodePacket({ ...result.packet, attributes: result.packet.attributes.map((a) => ({ type: a.type, value: a.value })) }), encoded);
    }), { numRuns: 1000 });
  });

  it('round-trips typed values through their getters', () => {
    const ipv4 = fc.ipV4();
    const ipv6 = fc.ipV6();
    fc.assert(fc.property(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.nat({ max: 0xffffffff }), ipv4, ipv6, fc.integer({ min: 0, max: 128 }), fc.date({ min: new Date(0), max: new Date(0xffffffff * 1000), noInvalidDate: true }),
      (text, integer, address, v6, prefixLength, date) => {
        const result = decodePacket(encodePacket({
          code: 'Access-Accept',
          identifier: 3,
          attributes: [
            { name: 'Reply-Message', value: text },
            { name: 'Session-Timeout', value: integer },
            { name: 'Framed-IP-Address', value: address },
            { name: 'Framed-IPv6-Address', value: v6 },
            { name: 'Framed-IPv6-Prefix', value: `${v6}/${prefixLength}` },
            { name: 'Event-Timestamp', value: date },
          ],
        }));
        assert.ok(result.ok);
        const packet = result.packet;
        // Lone surrogates cannot be encoded in UTF-8; Buffer.from writes U+FFFD for them.
        assert.equal(packet.text('Reply-Message'), Buffer.from(text, 'utf8').toString('utf8'));
        assert.equal(packet.integer('Session-Timeout'), integer);
        assert.equal(packet.ipv4('Framed-IP-Address'), address.split('.').map(Number).join('.'));
        assert.deepEqual(parseV6(packet.ipv6('Framed-IPv6-Address')!), parseV6(v6));
        const [prefix, length] = packet.ipv6Prefix('Framed-IPv6-Prefix')!.split('/');
        assert.equal(Number(length), prefixLength);
        assert.deepEqual(maskV6(parseV6(prefix!), prefixLength), maskV6(parseV6(v6), prefixLength));
        assert.equal(packet.time('Event-Timestamp')?.getTime(), Math.floor(date.getTime() / 1000) * 1000);
      },
    ), { numRuns: 500 });
  });
});

function parseV6(text: string): number[] {
  return [...encodePacket({ code: 'Access-Accept', identifier: 0, attributes: [{ name: 'Framed-IPv6-Address', value: text }] }).subarray(22)];
}

function maskV6(bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits - i * 8)))));
}
