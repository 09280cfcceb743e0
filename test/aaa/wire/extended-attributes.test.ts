import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portBlockAttributes, readPortRanges } from '../../../src/aaa/protocol/ip-port-range.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { encodePacket, type AttributeInput } from '../../../src/aaa/wire/encode-packet.ts';
import { decodeTlvs, encodeTlvs, extendedAttribute, readExtended } from '../../../src/aaa/wire/extended-attribute.ts';
import type { RadiusPacket } from '../../../src/aaa/wire/radius-packet.ts';

function packetOf(attributes: AttributeInput[]): RadiusPacket {
  const result = decodePacket(encodePacket({ code: 'Accounting-Request', identifier: 1, attributes }));
  assert.ok(result.ok);
  return result.packet;
}

const rangeTlvs = (...tlvs: Array<[number, number[]]>): Buffer => Buffer.concat(tlvs.map(([type, value]) => Buffer.from([type, value.length + 2, ...value])));
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

describe('RFC 6929 extended attributes', () => {
  it('writes Type, Length, Extended-Type, Value and reads the value back', () => {
    const [attribute] = extendedAttribute({ type: 241, extendedType: 6 }, Buffer.from([1, 2, 3]));
    const packet = packetOf([attribute!]);
    assert.deepEqual([...packet.raw.subarray(20)], [241, 6, 6, 1, 2, 3]);
    assert.deepEqual(readExtended(packet, { type: 241, extendedType: 6 })?.map((b) => [...b]), [[1, 2, 3]]);
    assert.deepEqual(readExtended(packet, { type: 241, extendedType: 5 }), []);
  });

  it('fragments a Long Extended value with the M flag and reassembles it', () => {
    const value = Buffer.alloc(600, 7);
    const fragments = extendedAttribute({ type: 245, extendedType: 1 }, value);
    assert.equal(fragments.length, 3);
    const packet = packetOf(fragments);
    assert.deepEqual(packet.allOctets(245).map((o) => o[1]), [0x80, 0x80, 0]);
    assert.deepEqual(readExtended(packet, { type: 245, extendedType: 1 }), [value]);
  });

  it('treats a chain whose last fragment says More as invalid (RFC 6929 §2.2)', () => {
    const packet = packetOf([{ type: 245, value: Buffer.from([1, 0x80, 9]) }]);
    assert.equal(readExtended(packet, { type: 245, extendedType: 1 }), undefined);
  });

  it('refuses a value too long for one Extended-Type attribute', () => {
    assert.throws(() => extendedAttribute({ type: 241, extendedType: 6 }, Buffer.alloc(253)), RangeError);
  });

  it('frames TLVs and refuses a TLV-Length below 3 or past the value', () => {
    const tlvs = [{ type: 9, value: Buffer.from(u32(2048)) }, { type: 10, value: Buffer.from(u32(4095)) }];
    assert.deepEqual(decodeTlvs(encodeTlvs(tlvs)), tlvs);
    assert.equal(decodeTlvs(Buffer.from([9, 2])), undefined);
    assert.equal(decodeTlvs(Buffer.from([9, 7, 0, 0, 8])), undefined);
    assert.equal(decodeTlvs(Buffer.from([9])), undefined);
  });
});

describe('RFC 8045 IP-Port-Range', () => {
  it('encodes a block as IP-Port-Range and IP-Port-Limit-Info that read back', () => {
    const packet = packetOf(portBlockAttributes({ externalAddress: '198.51.100.7', first: 2048, last: 4095 }));
    const { ranges, faults } = readPortRanges(packet);
    assert.deepEqual(faults, []);
    assert.deepEqual(ranges, [{ alloc: 'allocation', protocol: 0, externalAddress: '198.51.100.7', first: 2048, last: 4095, internalAddress: null, localId: null }]);
    const limit = readExtended(packet, { type: 241, extendedType: 5 })!;
    assert.deepEqual(decodeTlvs(limit[0]!)?.find((t) => t.type === 2)?.value, Buffer.from(u32(2048)));
  });

  it('names what is wrong with a report it cannot use', () => {
    const cases: Array<[Buffer, string]> = [
      [rangeTlvs([9, u32(2048)], [10, u32(4095)]), 'alloc-missing'],
      [rangeTlvs([8, u32(1)], [9, u32(2048)]), 'range-missing'],
      [rangeTlvs([8, u32(1)], [9, u32(4095)], [10, u32(2048)]), 'range-invalid'],
      [rangeTlvs([8, u32(1)], [9, u32(2048)], [10, u32(70000)]), 'range-invalid'],
      [rangeTlvs([8, [1]], [9, u32(2048)], [10, u32(4095)]), 'tlv-malformed'],
      [Buffer.from([8, 2]), 'tlv-malformed'],
    ];
    for (const [value, fault] of cases) {
      const packet = packetOf(extendedAttribute({ type: 241, extendedType: 6 }, value));
      assert.deepEqual(readPortRanges(packet), { ranges: [], faults: [fault] }, fault);
    }
  });

  it('reads a Deallocation', () => {
    const packet = packetOf(extendedAttribute({ type: 241, extendedType: 6 }, rangeTlvs([8, u32(2)], [9, u32(2048)], [10, u32(4095)], [11, [...Buffer.from('cpe-7')]])));
    assert.deepEqual(readPortRanges(packet).ranges, [{ alloc: 'deallocation', protocol: null, externalAddress: null, first: 2048, last: 4095, internalAddress: null, localId: 'cpe-7' }]);
  });
});
