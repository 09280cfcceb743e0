import { ipv6PrefixAt, type Ipv6Prefix } from '../../core/network/ipv6-prefix.ts';

/** Where an IPv6 pool carves its units: its range, and the length of each unit. */
export interface PrefixPlace {
  range: Ipv6Prefix;
  unitLength: number;
}

/**
 * A prefix shorter than its pool's unit may cover at most 2^this units (a /48 in a pool
 * of /56 units): beyond, it is refused rather than checked unit by unit.
 */
export const MAX_COVERED_UNITS_BITS = 8;

/** What binding a prefix inside an IPv6 pool's range claims of the pool. */
export interface PrefixClaim {
  /** The units it overlaps: the one containing a longer prefix, each one a shorter prefix covers. */
  firstUnit: number;
  unitCount: number;
  /**
   * The open_key its binding takes: the containing unit's text for a prefix longer than
   * the unit (a /60 in a pool of /56), so that the unique index refuses a second open
   * holder of that unit at any length; the prefix's own text otherwise.
   */
  key: string;
  /**
   * Every open_key an open binding overlapping it can carry: the prefixes of the range's
   * length up to the unit's that contain it and, for a prefix shorter than the unit,
   * those inside it down to the unit's length. Bindings longer than a unit carry their
   * unit's key, so this finite list finds every overlap.
   */
  overlapKeys: string[];
}

const maskTo = (value: bigint, length: number): bigint => (length === 0 ? 0n : (value >> BigInt(128 - length)) << BigInt(128 - length));

/**
 * The claim of a prefix that lies inside `place.range` (as `AddressPool.covers` checks);
 * undefined when it covers more than 2^MAX_COVERED_UNITS_BITS units.
 */
export function prefixClaim(place: PrefixPlace, prefix: Ipv6Prefix): PrefixClaim | undefined {
  const { range, unitLength } = place;
  const spanBits = Math.max(0, unitLength - prefix.length);
  if (spanBits > MAX_COVERED_UNITS_BITS) return undefined;
  const firstUnit = Number((maskTo(prefix.value, Math.min(prefix.length, unitLength)) - range.value) >> BigInt(128 - unitLength));
  const keys = new Set<string>([prefix.text]);
  for (let l = range.length; l <= Math.min(prefix.length, unitLength); l++) keys.add(ipv6PrefixAt(maskTo(prefix.value, l), l).text);
  for (let l = prefix.length + 1; l <= unitLength; l++) {
    for (let i = 0n; i < 1n << BigInt(l - prefix.length); i++) keys.add(ipv6PrefixAt(prefix.value + (i << BigInt(128 - l)), l).text);
  }
  const key = prefix.length > unitLength ? ipv6PrefixAt(maskTo(prefix.value, unitLength), unitLength).text : prefix.text;
  return { firstUnit, unitCount: 2 ** spanBits, key, overlapKeys: [...keys] };
}
