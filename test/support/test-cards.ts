import { createHash } from 'node:crypto';
import { luhnValid } from '../../src/core/card/card-number.ts';

/**
 * Card numbers for tests, generated at run time from SIDEBAND_TEST_SEED so that the
 * never-in-clear scan can regenerate the same list without any file holding them.
 * They are Luhn-valid Visa-shaped numbers; none is a real account but a scanner cannot
 * tell, which is the point.
 */
export const TEST_CARD_COUNT = 64;

const seed = (): string => process.env.SIDEBAND_TEST_SEED ?? 'local-run';

export function testCardNumber(i: number): string {
  const digest = createHash('sha256').update(`${seed()}:${i}`).digest();
  let body = '4';
  for (let k = 0; body.length < 15; k++) body += String(digest[k]! % 10);
  for (let check = 0; check < 10; check++) {
    if (luhnValid(body + check)) return body + check;
  }
  throw new Error('unreachable: one check digit always fits');
}

export function allTestCardNumbers(): string[] {
  return Array.from({ length: TEST_CARD_COUNT }, (_, i) => testCardNumber(i));
}

export const futureExpiry = (): string => `12/${String((new Date().getUTCFullYear() + 2) % 100).padStart(2, '0')}`;
