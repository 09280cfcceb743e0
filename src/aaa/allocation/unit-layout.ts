import { ipv6PrefixAt, ipv6PrefixContains, parseIpv6Prefix } from '../../core/network/ipv6-prefix.ts';
import type { PrefixPlace } from './prefix-claim.ts';

/** A unit as the NAS is told it and the store keys it. */
export interface AllocatedUnit {
  /** The IPv4 address, or the network of an IPv6 prefix. */
  address: string;
  /** Under CGNAT: the first and last source port of the block; else null. */
  portFirst: number | null;
  portLast: number | null;
  /** An IPv6 prefix's length (the unit is `address/prefixLength`); null for an IPv4 address. */
  prefixLength: number | null;
  /** The store's uniqueness key for an open binding of this unit. */
  openKey: string;
}

/** How a pool's units are numbered: unit index ↔ what is handed out. */
export interface UnitLayout {
  readonly family: 4 | 6;
  readonly size: number;
  describe(unit: number): AllocatedUnit;
  unitOf(address: string, portFirst: number | null, prefixLength: number | null): number | undefined;
  covers(prefix: string): boolean;
  /** An IPv6 layout's range and unit length. */
  readonly place?: PrefixPlace;
}

/** RFC 6890 leaves 0–1023 as system ports; CGNAT blocks start above them. */
const FIRST_PORT = 1024;

/** An IPv6 pool has at most this many units, so that its state stays a megabyte. */
export const MAX_PREFIX_UNITS_BITS = 20;

/** Addresses of an IPv4 range, each whole or, under CGNAT, in blocks of `portsPerBlock` source ports. */
export function ipv4Layout(cidr: string, portsPerBlock: number | null): UnitLayout {
  const [net, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  const addresses = 2 ** (32 - prefix);
  // Keep the network and broadcast addresses out of pools of /30 and larger.
  const skipEdges = prefix <= 30 ? 1 : 0;
  const base = ipv4ToInt(net!) + skipEdges;
  const usable = addresses - 2 * skipEdges;
  const blocksPerAddress = portsPerBlock ? Math.floor((65536 - FIRST_PORT) / portsPerBlock) : 1;
  return {
    family: 4,
    size: usable * blocksPerAddress,
    unitOf(address, portFirst, prefixLength) {
      const offset = ipv4ToInt(address) - base;
      if (prefixLength !== null || !Number.isInteger(offset) || offset < 0 || offset >= usable) return undefined;
      const block = portsPerBlock && portFirst !== null ? Math.floor((portFirst - FIRST_PORT) / portsPerBlock) : 0;
      if (block < 0 || block >= blocksPerAddress) return undefined;
      return offset * blocksPerAddress + block;
    },
    describe(unit) {
      const offset = Math.floor(unit / blocksPerAddress);
      const block = unit % blocksPerAddress;
      const address = intToIpv4(base + offset);
      if (!portsPerBlock) return { address, portFirst: null, portLast: null, prefixLength: null, openKey: address };
      const first = FIRST_PORT + block * portsPerBlock;
      return { address, portFirst: first, portLast: first + portsPerBlock - 1, prefixLength: null, openKey: `${address}:${first}` };
    },
    covers: () => false,
  };
}

/**
 * The `/unitLength` prefixes of an IPv6 range, in order: a /40 of /56 units for
 * Delegated-IPv6-Prefix (RFC 4818), a /44 of /64 units for Framed-IPv6-Prefix (RFC 3162).
 * Every unit is usable: a prefix has no network or broadcast address to keep out.
 */
export function ipv6PrefixLayout(name: string, cidr: string, unitLength: number | null): UnitLayout {
  const range = parseIpv6Prefix(cidr);
  if (!range || unitLength === null || unitLength < range.length || unitLength > 128 || unitLength - range.length > MAX_PREFIX_UNITS_BITS) {
    throw new Error(`pool ${name}: ${cidr} cannot be carved into /${String(unitLength)} units`);
  }
  const step = BigInt(128 - unitLength);
  return {
    family: 6,
    size: 2 ** (unitLength - range.length),
    place: { range, unitLength },
    unitOf(address, portFirst, prefixLength) {
      if (portFirst !== null || prefixLength !== unitLength) return undefined;
      const prefix = parseIpv6Prefix(`${address}/${prefixLength}`);
      if (!prefix || prefix.network !== address || !ipv6PrefixContains(range, prefix)) return undefined;
      return Number((prefix.value - range.value) >> step);
    },
    describe(unit) {
      const prefix = ipv6PrefixAt(range.value + (BigInt(unit) << step), unitLength);
      return { address: prefix.network, portFirst: null, portLast: null, prefixLength: unitLength, openKey: prefix.text };
    },
    covers(text) {
      const prefix = parseIpv6Prefix(text);
      return prefix !== undefined && ipv6PrefixContains(range, prefix);
    },
  };
}

export function ipv4ToInt(address: string): number {
  const p = address.split('.');
  if (p.length !== 4) return NaN;
  let n = 0;
  for (const part of p) {
    const v = Number(part);
    if (!Number.isInteger(v) || v < 0 || v > 255 || part === '') return NaN;
    n = n * 256 + v;
  }
  return n;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
