import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { formatAddressKey, normaliseAddress, parseAddressKey } from '../../../src/core/resolution/address-key.ts';

const ipv4Value = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** Writes eight groups in one of the spellings RFC 4291 §2.2 allows, chosen by `style`. */
function spell(groups: number[], style: { pad: boolean; upper: boolean; compress: number; ipv4Tail: boolean }): string {
  const hex = (g: number): string => {
    const text = style.pad ? g.toString(16).padStart(4, '0') : g.toString(16);
    return style.upper ? text.toUpperCase() : text;
  };
  let words = groups.map(hex);
  if (style.ipv4Tail) words = [...words.slice(0, 6), `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`];
  // Compress one run of zero groups (any run, not only the longest): every run is legal input.
  const limit = style.ipv4Tail ? 6 : 8;
  const runs: [number, number][] = [];
  for (let i = 0; i < limit; i++) {
    if (groups[i] !== 0) continue;
    let j = i;
    while (j < limit && groups[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  if (runs.length === 0 || style.compress < 0) return words.join(':');
  const [from, to] = runs[style.compress % runs.length]!;
  return `${words.slice(0, from).join(':')}::${words.slice(to).join(':')}`;
}

describe('address keys', () => {
  it('reads IPv4 dotted decimal as its 32-bit value and writes it back', () => {
    assert.equal(parseAddressKey('0.0.0.0'), 0);
    assert.equal(parseAddressKey('255.255.255.255'), 0xffffffff);
    assert.equal(parseAddressKey('100.64.0.1'), ipv4Value(100, 64, 0, 1));
    assert.equal(parseAddressKey('198.19.255.254'), ipv4Value(198, 19, 255, 254));
    fc.assert(fc.property(fc.ipV4(), (text) => {
      assert.equal(formatAddressKey(parseAddressKey(text)!), text);
    }));
  });

  it('refuses what is not strict dotted decimal', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.00', '1..2.3', '.1.2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/32', '0x1.2.3.4', '1.2.3.a', '１.2.3.4', '4294967295']) {
      assert.equal(parseAddressKey(bad), undefined, bad);
    }
  });

  it('normalises every spelling of an IPv6 address to one key and its RFC 5952 text', () => {
    assert.equal(normaliseAddress('2001:0db8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normaliseAddress('2001:DB8::1'), '2001:db8::1');
    assert.equal(normaliseAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normaliseAddress('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(normaliseAddress('0:0:0:0:0:0:0:0'), '::');
    assert.equal(normaliseAddress('::1'), '::1');
    assert.equal(normaliseAddress('fe80::'), 'fe80::');
    assert.equal(normaliseAddress('64:ff9b::198.51.100.7'), '64:ff9b::c633:6407');

    const groups = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    const style = fc.record({ pad: fc.boolean(), upper: fc.boolean(), compress: fc.integer({ min: -1, max: 3 }), ipv4Tail: fc.boolean() });
    fc.assert(fc.property(groups, style, (g, s) => {
      const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
      const expected = mapped ? `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}` : new ipaddr.IPv6(g).toRFC5952String();
      assert.equal(normaliseAddress(spell(g, s)), expected, spell(g, s));
      assert.equal(parseAddressKey(spell(g, s)), parseAddressKey(expected));
    }), { numRuns: 2000 });
  });

  it('agrees with ipaddr.js on what it generates as IPv6', () => {
    fc.assert(fc.property(fc.ipV6(), (text) => {
      // ipaddr.js reads the deprecated IPv4-compatible `::a.b.c.d` as mapped; RFC 4291 §2.5.5.1 does not.
      fc.pre(!/^::\d+\.\d+\.\d+\.\d+$/.test(text));
      let address = ipaddr.IPv6.parse(text) as ipaddr.IPv4 | ipaddr.IPv6;
      if ((address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
      assert.equal(normaliseAddress(text), address.toString(), text);
    }), { numRuns: 2000 });
  });

  it('folds IPv4-mapped IPv6 into the IPv4 address, in either spelling', () => {
    const v4 = parseAddressKey('198.51.100.7');
    assert.equal(parseAddressKey('::ffff:198.51.100.7'), v4);
    assert.equal(parseAddressKey('::FFFF:c633:6407'), v4);
    assert.equal(parseAddressKey('0:0:0:0:0:ffff:198.51.100.7'), v4);
    assert.equal(normaliseAddress('::ffff:198.51.100.7'), '198.51.100.7');
    // IPv4-compatible (RFC 4291 §2.5.5.1) and IPv4-translated forms are other addresses.
    assert.equal(normaliseAddress('::198.51.100.7'), '::c633:6407');
    assert.equal(normaliseAddress('::ffff:0:198.51.100.7'), '::ffff:0:c633:6407');
  });

  it('refuses malformed IPv6', () => {
    const bad = [
      ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '1::2:', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8',
      '12345::', 'g::1', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', '::1.2.3.4:1', '::01.2.3.4', '::256.1.1.1', 'fe80::1%eth0',
      '[::1]', '::1/128', ' ::1', '2001:db8::1 ', '1:2:3:4:5:6:1.2.3.4:5', 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555',
    ];
    for (const text of bad) assert.equal(parseAddressKey(text), undefined, text);
  });

  it('takes the first of two equal longest zero runs for :: and never compresses one group (RFC 5952 §4.2)', () => {
    assert.equal(normaliseAddress('1:0:0:2:0:0:3:4'), '1::2:0:0:3:4');
    assert.equal(normaliseAddress('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7');
    assert.equal(normaliseAddress('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  });
});
