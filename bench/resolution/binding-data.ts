// Data for the resolution benchmarks (bench/resolution, bench/radius's resolution phase):
// a seeded generator, so that every run measures the same bindings, and ids as long and
// as flat as the store's.

/** mulberry32, seeded. */
let seed = 0x5eed;
export function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export const int = (n: number): number => Math.floor(random() * n);

export const dotted = (v: number): string => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const codes: number[] = [];
/**
 * An id as long as Sideband's (kind, '_' and 26 Crockford base32 characters), so that
 * memory counts true; built flat, as a database driver hands them over (a string grown by
 * `+` is a rope of cons cells several times its size).
 */
export function id(kind: string, n: number): string {
  codes.length = 0;
  for (let i = 0; i < kind.length; i++) codes.push(kind.charCodeAt(i));
  codes.push(0x5f);
  for (let i = 25, v = n; i >= 0; i--, v = Math.floor(v / 32)) codes[kind.length + 1 + i] = ALPHABET.charCodeAt(v % 32);
  return String.fromCharCode(...codes);
}
