import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseExpiry } from '../../src/core/card/card-expiry.ts';
import { brandOf, luhnValid, maskCard, validateCardNumber } from '../../src/core/card/card-number.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { redactCardNumbers } from '../../src/observability/redact.ts';
import { testCardNumber } from '../support/test-cards.ts';

describe('card numbers', () => {
  it('recognises brands by IIN range and length', () => {
    assert.equal(validateCardNumber('4242 4242 4242 4242').brand, 'visa');
    assert.equal(validateCardNumber('5555-5555-5555-4444').brand, 'mastercard');
    assert.equal(validateCardNumber('2223003122003222').brand, 'mastercard');
    assert.equal(validateCardNumber('378282246310005').brand, 'amex');
    assert.equal(validateCardNumber('6011111111111117').brand, 'discover');
    assert.equal(validateCardNumber('3566002020360505').brand, 'jcb');
    assert.equal(brandOf('9999999999999999'), undefined);
  });

  it('refuses wrong Luhn, wrong length and unknown brand with a message that never repeats the number', () => {
    for (const bad of ['4242424242424241', '37828224631000', '9999999999999995', '42424242', 'abcd']) {
      assert.throws(() => validateCardNumber(bad), (e: SidebandError) => e.code === 'VAULT_CARD_INVALID' && !e.message.includes(bad));
    }
  });

  it('masks to BIN and last four (PCI DSS 3.4.1)', () => {
    assert.equal(maskCard('424242', '4242', 16), '424242••••••4242');
    assert.equal(maskCard('378282', '0005', 15), '378282•••••0005');
  });

  it('Luhn accepts every generated test number and rejects any single changed digit', () => {
    fc.assert(fc.property(fc.nat(1000), fc.nat(15), fc.integer({ min: 1, max: 9 }), (i, pos, delta) => {
      const n = testCardNumber(i);
      assert.ok(luhnValid(n));
      const changed = n.slice(0, pos) + String((Number(n[pos]) + delta) % 10) + n.slice(pos + 1);
      assert.ok(!luhnValid(changed));
    }));
  });

  it('expiry is MM/YY and not in the past', () => {
    const now = new Date('2026-11-23T00:00:00Z');
    assert.deepEqual(parseExpiry('11/26', now), { month: 11, year: 2026 });
    assert.throws(() => parseExpiry('10/26', now), (e: SidebandError) => e.code === 'VAULT_EXPIRY_INVALID');
    assert.throws(() => parseExpiry('2026-12', now), (e: SidebandError) => e.code === 'VAULT_EXPIRY_INVALID');
  });
});

describe('log redaction', () => {
  it('masks Luhn-valid digit runs, grouped or not, and leaves other numbers', () => {
    const n = testCardNumber(7);
    const grouped = n.replace(/(\d{4})(?=\d)/g, '$1 ');
    const out = redactCardNumbers(`{"msg":"paid with ${n} and ${grouped}","at":1763856000000,"port":1812}`);
    assert.ok(!out.includes(n) && !out.includes(grouped));
    assert.ok(out.includes('1763856000000') && out.includes('1812'));
    assert.ok(out.includes(`[card ${n.slice(0, 6)}…${n.slice(-4)}]`));
  });
});
