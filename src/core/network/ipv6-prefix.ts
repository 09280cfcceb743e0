import { formatAddressKey, maskIpv6Key, parseAddressKey } from '../resolution/address-key.ts';

/**
 * An IPv6 prefix: `network/length` with no bits set past the length, as a Framed-IPv6-Prefix
 * (RFC 3162 §2.3) or a Delegated-IPv6-Prefix (RFC 4818 §3) names one.
 *
 * @example
 * parseIpv6Prefix('2001:db8:0:1ab::/56'); // { network: '2001:db8:0:100::', length: 56, text: '2001:db8:0:100::/56', value: … }
 */
export interface Ipv6Prefix {
  /** RFC 5952 text of the network address. */
  readonly network: string;
  readonly length: number;
  readonly text: string;
  /** The network as a 128-bit number. */
  readonly value: bigint;
}

/**
 * Reads `address/length`; bits past the length are cleared (RFC 3162 §2.3 has them
 * "reserved", and a NAS may leave the interface's bits in). `undefined` when the text is
 * no IPv6 prefix; an IPv4 or IPv4-mapped address is none.
 */
export function parseIpv6Prefix(text: string): Ipv6Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const key = parseAddressKey(text.slice(0, slash));
  if (typeof key !== 'string' || length > 128) return undefined;
  return prefixOfKey(maskIpv6Key(key, length), length);
}

/** The `length`-bit prefix starting at the 128-bit number `value`, which must have no bits past the length. */
export function ipv6PrefixAt(value: bigint, length: number): Ipv6Prefix {
  const groups: number[] = [];
  for (let g = 7; g >= 0; g--) groups.push(Number((value >> BigInt(16 * g)) & 0xffffn));
  return prefixOfKey(String.fromCharCode(...groups), length);
}

/** Whether `inner` lies wholly inside `outer`. */
export function ipv6PrefixContains(outer: Ipv6Prefix, inner: Ipv6Prefix): boolean {
  if (inner.length < outer.length) return false;
  const shift = BigInt(128 - outer.length);
  return inner.value >> shift === outer.value >> shift;
}

function prefixOfKey(key: string, length: number): Ipv6Prefix {
  let value = 0n;
  for (let g = 0; g < 8; g++) value = (value << 16n) | BigInt(key.charCodeAt(g));
  const network = formatAddressKey(key);
  return { network, length, text: `${network}/${length}`, value };
}
