import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { ipv6Text } from '../../../src/tracking/wire/address-text.ts';

const text6 = (address: string) => ipv6Text(Buffer.from(ipaddr.parse(address).toByteArray()), 0);

describe('address text in flow records', () => {
  it('writes IPv6 as RFC 5952 §4 text', () => {
    assert.equal(text6('::'), '::');
    assert.equal(text6('::1'), '::1');
    assert.equal(text6('2001:db8::'), '2001:db8::');
    assert.equal(text6('2001:0db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not shortened (§4.2.2)');
    assert.equal(text6('2001:db8:0:0:1:0:0:0'), '2001:db8:0:0:1::', 'the longest run is shortened (§4.2.3)');
    assert.equal(text6('2001:DB8::ABCD'), '2001:db8::abcd');
  });

  it('gives an IPv4-mapped address as the IPv4 address it carries', () => {
    assert.equal(text6('::ffff:192.0.2.10'), '192.0.2.10');
    assert.equal(text6('::fffe:c000:20a'), '::fffe:c000:20a');
  });

  it('agrees with ipaddr.js on every address', () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    fc.assert(fc.property(groups, (g) => {
      const bytes = Buffer.alloc(16);
      g.forEach((v, i) => bytes.writeUInt16BE(v, i * 2));
      const address = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
      const expected = address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toRFC5952String();
      assert.equal(ipv6Text(bytes, 0), expected);
    }), { numRuns: 2000 });
  });
});
