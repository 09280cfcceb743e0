import ipaddr from 'ipaddr.js';
import { SidebandError } from '../../errors/sideband-error.ts';
import { normaliseAddress } from '../resolution/address-key.ts';

export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text, e.g. `198.51.100.0/24`, `2001:db8::/32`. */
  readonly text: string;
  readonly prefix: number;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/** Parses and canonicalises a CIDR; a bare address is a /32 or /128. Host bits must be zero. */
export function parseCidr(input: string, param = 'cidr'): Cidr {
  const text = input.trim();
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = text.includes('/') ? ipaddr.parseCIDR(text) : (() => { const a = ipaddr.parse(text); return [a, a.kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number]; })();
  } catch {
    throw new SidebandError('CIDR_INVALID', `${JSON.stringify(input)} is not an address range such as 198.51.100.0/24.`, { param });
  }
  let [addr, prefix] = parsed;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    prefix = Math.max(0, prefix - 96);
  }
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefix}`);
  if (network.toString() !== addr.toString()) {
    throw new SidebandError('CIDR_INVALID', `${text} has host bits set; the network is ${network.toString()}/${prefix}.`, { param });
  }
  return { family, prefix, text: `${network.toString()}/${prefix}`, range: [network, prefix] };
}

/**
 * The canonical text of an address a client sent: dotted decimal for IPv4, RFC 5952 for
 * IPv6, an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) folded to the
 * IPv4 address it carries, as dual-stack sockets report IPv4 peers that way. Only strict
 * notations are read (normaliseAddress): `0x7f000001`, `127.1`, `0177.0.0.1`,
 * `127.0.0.01`, a zone (`fe80::1%eth0`) or surrounding spaces are refused, not guessed at
 * the way inet_aton() or ipaddr.js would. The message never repeats the input: a refused
 * value can be anything, and 4xx answers are stored for idempotent replay.
 */
export function canonicalAddress(input: string, param = 'address'): string {
  const text = normaliseAddress(input);
  if (text === undefined) {
    throw new SidebandError('ADDRESS_INVALID', `${param} must be an IPv4 address in dotted decimal without leading zeros (192.0.2.10) or an IPv6 address (2001:db8::10), with no zone index or spaces.`, { param });
  }
  return text;
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.kind() === cidr.range[0].kind() && a.match(cidr.range);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefix <= b.prefix ? a : b;
  const longer = shorter === a ? b : a;
  return longer.range[0].match(shorter.range);
}

/** Number of addresses in an IPv4 range (IPv6 pools are not allocated address by address). */
export function ipv4Size(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}
