import { luhnValid } from '../../src/core/card/card-number.ts';

/** The digits `body` followed by the one check digit that makes them pass the Luhn check. */
export function withCheckDigit(body: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable: one check digit always fits');
}

/** `digits` cut into groups of the given sizes (cycled), joined by the separators (cycled). */
export function grouped(digits: string, sizes: number[], separators: string[]): string {
  let out = '';
  for (let at = 0, k = 0; at < digits.length; k++) {
    const size = Math.max(1, sizes[k % sizes.length]!);
    if (at > 0) out += separators[k % separators.length]!;
    out += digits.slice(at, at + size);
    at += size;
  }
  return out;
}
