import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import type { DropCause } from '../../../src/aaa/wire/drop-cause.ts';
import { encodePacket } from '../../../src/aaa/wire/encode-packet.ts';
import type { RadiusPacket } from '../../../src/aaa/wire/radius-packet.ts';

/** Header with the given Code and Length, then whatever `rest` holds. */
function datagram(code: number, length: number, ...rest: number[]): Buffer {
  const header = Buffer.alloc(20);
  header[0] = code;
  header[1] = 42;
  header.writeUInt16BE(length, 2);
  return Buffer.concat([header, Buffer.from(rest)]);
}

function decoded(buf: Buffer): RadiusPacket {
  const result = decodePacket(buf);
  assert.ok(result.ok, `expected a packet, got ${result.ok ? '' : result.cause}`);
  return result.packet;
}

function droppedFor(buf: Buffer): DropCause {
  const result = decodePacket(buf);
  assert.ok(!result.ok, 'expected a drop');
  return result.cause;
}

describe('decoding well-formed packets', () => {
  it('reads the header and keeps the raw octets', () => {
    const packet = decoded(datagram(1, 26, 1, 6, 0x6e, 0x65, 0x6d, 0x6f));
    assert.equal(packet.code, 'Access-Request');
    assert.equal(packet.identifier, 42);
    assert.equal(packet.authenticator.length, 16);
    assert.equal(packet.raw.length, 26);
    assert.equal(packet.text('User-Name'), 'nemo');
  });

  it('accepts a packet with no attributes', () => {
    const packet = decoded(datagram(5, 20));
    assert.equal(packet.code, 'Accounting-Response');
    assert.deepEqual(packet.attributes, []);
  });

  it('treats octets beyond Length as padding and leaves them out of raw (RFC 2865 §3)', () => {
    const packet = decoded(datagram(4, 23, 40, 3, 0xff, 0xde, 0xad, 0xbe, 0xef));
    assert.equal(packet.raw.length, 23);
    assert.deepEqual(packet.attributes, [{ type: 40, value: Buffer.of(0xff) }]);
  });

  it('accepts a Length of exactly 4096', () => {
    const attributes: number[] = [];
    for (let i = 0; i < 15; i++) attributes.push(25, 255, ...new Array<number>(253).fill(i));
    const last = 4096 - 20 - 15 * 255;
    attributes.push(25, last, ...new Array<number>(last - 2).fill(0));
    const packet = decoded(datagram(2, 4096, ...attributes));
    assert.equal(packet.count('Class'), 16);
  });

  it('keeps attributes in order, repeated ones included', () => {
    const packet = decoded(encodePacket({
      code: 'Access-Accept',
      identifier: 1,
      attributes: [
        { name: 'Reply-Message', value: 'one' },
        { name: 'Class', value: Buffer.of(1) },
        { name: 'Reply-Message', value: 'two' },
      ],
    }));
    assert.deepEqual(packet.attributes.map((a) => a.type), [18, 25, 18]);
    assert.equal(packet.count('Reply-Message'), 2);
    assert.deepEqual(packet.allOctets('Reply-Message').map(String), ['one', 'two']);
    assert.equal(packet.text('Reply-Message'), 'one');
  });

  it('reads every data type by attribute name', () => {
    const packet = decoded(encodePacket({
      code: 'Accounting-Request',
      identifier: 9,
      attributes: [
        { name: 'NAS-IP-Address', value: '198.51.100.7' },
        { name: 'NAS-IPv6-Address', value: '2001:db8::1' },
        { name: 'Framed-IPv6-Prefix', value: '2001:db8:1::/48' },
        { name: 'Framed-IPv6-Address', value: '2001:db8:1::10' },
        { name: 'Acct-Status-Type', value: 'Interim-Update' },
        { name: 'Acct-Input-Gigawords', value: 3 },
        { name: 'Event-Timestamp', value: new Date('2024-05-01T12:00:00Z') },
        { name: 'NAS-Port-Id', value: 'eth0.100' },
        { name: 'Calling-Station-Id', value: '02-00-5E-10-00-01' },
      ],
    }));
    assert.equal(packet.ipv4('NAS-IP-Address'), '198.51.100.7');
    assert.equal(packet.ipv6('NAS-IPv6-Address'), '2001:db8::1');
    assert.equal(packet.ipv6Prefix('Framed-IPv6-Prefix'), '2001:db8:1::/48');
    assert.equal(packet.ipv6('Framed-IPv6-Address'), '2001:db8:1::10');
    assert.equal(packet.integer('Acct-Status-Type'), 3);
    assert.equal(packet.integer('Acct-Input-Gigawords'), 3);
    assert.equal(packet.time('Event-Timestamp')?.toISOString(), '2024-05-01T12:00:00.000Z');
    assert.equal(packet.text('NAS-Port-Id'), 'eth0.100');
    assert.equal(packet.text('Calling-Station-Id'), '02-00-5E-10-00-01');
    assert.equal(packet.integer('Acct-Session-Time'), undefined);
    assert.equal(packet.has('User-Name'), false);
  });

  it('returns undefined for a value of the wrong size instead of dropping the packet (RFC 6929 §2.8)', () => {
    // NAS-Port (integer) with 3 octets, NAS-IP-Address with 5, NAS-IPv6-Address with 4,
    // Framed-IPv6-Prefix claiming /64 with 4 prefix octets, Event-Timestamp with 2.
    const packet = decoded(datagram(4, 20 + 5 + 7 + 6 + 8 + 4,
      5, 5, 0, 0, 1,
      4, 7, 192, 0, 2, 1, 9,
      95, 6, 0x20, 0x01, 0x0d, 0xb8,
      97, 8, 0, 64, 0x20, 0x01, 0x0d, 0xb8,
      55, 4, 0, 1));
    assert.equal(packet.integer('NAS-Port'), undefined);
    assert.equal(packet.ipv4('NAS-IP-Address'), undefined);
    assert.equal(packet.ipv6('NAS-IPv6-Address'), undefined);
    assert.equal(packet.ipv6Prefix('Framed-IPv6-Prefix'), undefined);
    assert.equal(packet.time('Event-Timestamp'), undefined);
    assert.equal(packet.attributes.length, 5);
  });

  it('decodes Vendor-Specific values in the recommended format and leaves others raw (RFC 2865 §5.26)', () => {
    const packet = decoded(datagram(2, 20 + 14 + 9 + 8,
      26, 14, 0, 0, 0x0d, 0xb8, 1, 5, 0x61, 0x62, 0x63, 2, 3, 0x7a,
      26, 9, 0, 0, 0x0d, 0xb8, 1, 9, 0,
      26, 8, 1, 0, 0, 9, 1, 2));
    const [good, overrun, highOctet] = packet.attributes;
    assert.deepEqual(good?.vendorSpecific, { vendorId: 3512, attributes: [{ type: 1, value: Buffer.from('abc') }, { type: 2, value: Buffer.from('z') }] });
    assert.equal(overrun?.vendorSpecific, undefined);
    assert.equal(highOctet?.vendorSpecific, undefined);
    assert.equal(highOctet?.value.length, 6);
    assert.equal(packet.vendorSpecific().length, 1);
    assert.equal(packet.vendorSpecific(3512).length, 1);
    assert.equal(packet.vendorSpecific(9).length, 0);
  });

  it('shares the datagram\'s memory rather than copying it', () => {
    const buf = datagram(1, 26, 1, 6, 0x6e, 0x65, 0x6d, 0x6f);
    assert.equal(decoded(buf).raw.buffer, buf.buffer);
  });
});

describe('dropping malformed datagrams', () => {
  const cases: [string, Buffer, DropCause][] = [
    ['an empty datagram', Buffer.alloc(0), 'datagram-too-short'],
    ['19 octets', Buffer.alloc(19, 1), 'datagram-too-short'],
    ['Code 0', datagram(0, 20), 'unknown-code'],
    ['Code 13 (Status-Client, outside the closed set)', datagram(13, 20), 'unknown-code'],
    ['Code 46 (unassigned: RFC 5176 ends at 45)', datagram(46, 20), 'unknown-code'],
    ['Code 255', datagram(255, 20), 'unknown-code'],
    ['Length 0', datagram(1, 0), 'length-below-minimum'],
    ['Length 19', datagram(1, 19), 'length-below-minimum'],
    ['Length 4097', datagram(1, 4097, ...new Array<number>(4077).fill(0)), 'length-above-maximum'],
    ['Length 65535', datagram(1, 65535), 'length-above-maximum'],
    ['Length one past the datagram', datagram(1, 27, 1, 7, 0x61, 0x62, 0x63, 0x64), 'length-exceeds-datagram'],
    ['Length 40 on a bare header', datagram(1, 40), 'length-exceeds-datagram'],
    ['a lone octet where an attribute header belongs', datagram(1, 21, 1), 'attribute-overflow'],
    ['an attribute header cut by Length, with padding after', datagram(1, 21, 1, 3, 0x61), 'attribute-overflow'],
    ['an attribute running past Length', datagram(1, 25, 1, 6, 0x61, 0x62, 0x63), 'attribute-overflow'],
    ['a second attribute running past Length', datagram(1, 27, 1, 3, 0x61, 18, 9, 0x62, 0x63), 'attribute-overflow'],
    ['an attribute of Length 0', datagram(1, 22, 1, 0), 'attribute-length-invalid'],
    ['an attribute of Length 1', datagram(1, 25, 1, 3, 0x61, 5, 1), 'attribute-length-invalid'],
  ];
  for (const [what, buf, cause] of cases) {
    it(`drops ${what} as ${cause}`, () => assert.equal(droppedFor(buf), cause));
  }

  it('accepts a zero-length value (Length 2): its meaning is the attribute\'s to judge', () => {
    assert.equal(decoded(datagram(1, 22, 1, 2)).text('User-Name'), '');
  });
});
