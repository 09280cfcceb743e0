import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcctStatusType, ServiceType } from '../../../src/aaa/wire/attribute-values.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { encodePacket, type AttributeInput } from '../../../src/aaa/wire/encode-packet.ts';

function roundTrip(attributes: readonly AttributeInput[]) {
  const result = decodePacket(encodePacket({ code: 'Access-Accept', identifier: 200, attributes }));
  assert.ok(result.ok);
  return result.packet;
}

describe('encoding packets', () => {
  it('writes the header: Code, Identifier, Length, Authenticator (RFC 2865 §3)', () => {
    const authenticator = Buffer.alloc(16, 0xab);
    const buf = encodePacket({ code: 'Access-Challenge', identifier: 255, authenticator, attributes: [{ name: 'State', value: Buffer.of(1, 2) }] });
    assert.deepEqual([...buf.subarray(0, 4)], [11, 255, 0, 24]);
    assert.deepEqual(buf.subarray(4, 20), authenticator);
    assert.deepEqual([...buf.subarray(20)], [24, 4, 1, 2]);
  });

  it('zeroes the Authenticator when none is given', () => {
    const buf = encodePacket({ code: 'Accounting-Request', identifier: 0, attributes: [] });
    assert.deepEqual(buf, Buffer.from([4, 0, 0, 20, ...new Array<number>(16).fill(0)]));
  });

  it('writes integers, addresses, times and prefixes in network order', () => {
    const buf = encodePacket({
      code: 'Access-Accept',
      identifier: 1,
      attributes: [
        { name: 'Session-Timeout', value: 0x01020304 },
        { name: 'Framed-IP-Address', value: '192.0.2.10' },
        { name: 'Event-Timestamp', value: 0x5f5e1000 },
        { name: 'Framed-IPv6-Prefix', value: '2001:db8:ab00::/40' },
      ],
    });
    assert.deepEqual([...buf.subarray(20)], [
      27, 6, 1, 2, 3, 4,
      8, 6, 192, 0, 2, 10,
      55, 6, 0x5f, 0x5e, 0x10, 0,
      // RFC 3162 §2.3: Reserved, Prefix-Length, then only the octets the prefix covers.
      97, 9, 0, 40, 0x20, 0x01, 0x0d, 0xb8, 0xab,
    ]);
  });

  it('takes enumerated values by name or number', () => {
    const packet = roundTrip([
      { name: 'Service-Type', value: 'Framed-User' },
      { name: 'Acct-Status-Type', value: AcctStatusType['Accounting-On'] },
    ]);
    assert.equal(packet.integer('Service-Type'), ServiceType['Framed-User']);
    assert.equal(packet.integer('Acct-Status-Type'), 7);
  });

  it('round-trips text as UTF-8 and raw attributes by number', () => {
    const packet = roundTrip([
      { name: 'Reply-Message', value: 'Bienvenue, Zoë ✓' },
      { type: 240, value: Buffer.of(9, 9) },
      { name: 'Vendor-Specific', value: { vendorId: 14122, attributes: [{ type: 1, value: Buffer.from('gold') }] } },
    ]);
    assert.equal(packet.text('Reply-Message'), 'Bienvenue, Zoë ✓');
    assert.deepEqual(packet.octets(240), Buffer.of(9, 9));
    assert.deepEqual(packet.vendorSpecific(14122), [{ vendorId: 14122, attributes: [{ type: 1, value: Buffer.from('gold') }] }]);
  });

  it('takes 253 octets in one attribute and refuses 254 (RFC 2865 §5)', () => {
    assert.equal(roundTrip([{ name: 'Class', value: Buffer.alloc(253, 1) }]).octets('Class')?.length, 253);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [{ name: 'Class', value: Buffer.alloc(254) }] }), RangeError);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [{ name: 'Reply-Message', value: 'é'.repeat(127) }] }), RangeError);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [{ type: 25, value: Buffer.alloc(254) }] }), RangeError);
  });

  it('fills a packet to 4096 octets and refuses one octet more (RFC 2865 §3)', () => {
    const full: AttributeInput[] = [];
    for (let i = 0; i < 15; i++) full.push({ name: 'Class', value: Buffer.alloc(253) });
    full.push({ name: 'Class', value: Buffer.alloc(4096 - 20 - 15 * 255 - 2) });
    assert.equal(encodePacket({ code: 'Access-Accept', identifier: 1, attributes: full }).length, 4096);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [...full.slice(0, 15), { name: 'Class', value: Buffer.alloc(4096 - 20 - 15 * 255 - 1) }] }), RangeError);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [...full, { name: 'Class', value: Buffer.of(1) }] }), RangeError);
  });

  it('refuses values their data type cannot carry', () => {
    const refused: AttributeInput[] = [
      { name: 'Session-Timeout', value: -1 },
      { name: 'Session-Timeout', value: 2 ** 32 },
      { name: 'Session-Timeout', value: 1.5 },
      { name: 'Framed-IP-Address', value: '192.0.2' },
      { name: 'Framed-IP-Address', value: '2001:db8::1' },
      { name: 'NAS-IPv6-Address', value: '192.0.2.1' },
      { name: 'Framed-IPv6-Prefix', value: '2001:db8::' },
      { name: 'Framed-Interface-Id', value: Buffer.alloc(7) },
      { name: 'Reply-Message', value: '' },
      { name: 'Vendor-Specific', value: { vendorId: 0x1000000, attributes: [{ type: 1, value: Buffer.of(1) }] } },
      { name: 'Vendor-Specific', value: { vendorId: 9, attributes: [] } },
      { type: 0, value: Buffer.of(1) },
      { type: 256, value: Buffer.of(1) },
    ];
    for (const attribute of refused) {
      assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [attribute] }), /RangeError|TypeError/, JSON.stringify(attribute));
    }
    // @ts-expect-error: an enumerated attribute takes only its own value names
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [{ name: 'Service-Type', value: 'Start' }] }), RangeError);
  });

  it('refuses an Identifier outside one octet and an Authenticator not of 16 octets', () => {
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 256, attributes: [] }), RangeError);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: -1, attributes: [] }), RangeError);
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, authenticator: Buffer.alloc(15), attributes: [] }), RangeError);
  });

  it('leaves no trace of a failed encoding in the next packet', () => {
    assert.throws(() => encodePacket({ code: 'Access-Accept', identifier: 1, attributes: [{ name: 'Reply-Message', value: 'x' }, { name: 'Class', value: Buffer.alloc(300) }] }));
    const buf = encodePacket({ code: 'Access-Reject', identifier: 2, attributes: [] });
    assert.equal(buf.length, 20);
    assert.equal(buf[0], 3);
  });
});
