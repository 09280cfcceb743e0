import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanonicalTexts, ipv4Number } from '../../../src/tracking/service/canonical-texts.ts';

// The plain reading: four decimal parts of 0–255 without leading zeros.
const reference = (text: string): number => {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return -1;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
};

describe('canonical texts for the destination book', () => {
  it('reads dotted quads as numbers and refuses everything else', () => {
    fc.assert(fc.property(fc.ipV4(), (a) => ipv4Number(a) === reference(a)));
    const nearMisses = fc.stringMatching(/^[0-9.]{0,16}$/);
    fc.assert(fc.property(fc.oneof(nearMisses, fc.ipV6(), fc.string()), (s) => ipv4Number(s) === reference(s)));
    for (const s of ['01.2.3.4', '1.2.3.4.', '.1.2.3', '256.0.0.1', '1.2.3', '1..2.3', '2001:db8::1', '1.2.3.4 ']) assert.equal(ipv4Number(s), -1, s);
    assert.equal(ipv4Number('255.255.255.255'), 0xffff_ffff);
  });

  it('gives back an equal string, the first one seen, and follows an address to its next session', () => {
    const texts = new CanonicalTexts();
    const first = ['ses_', 'a'].join('');
    assert.equal(texts.session('100.64.0.1', first), first);
    const again = ['ses', '_a'].join('');
    assert.equal(texts.session('100.64.0.1', again), again);
    assert.equal(texts.session('100.64.0.1', 'ses_b'), 'ses_b', 'the address changed hands');
    assert.equal(texts.session('2001:db8::1', 'ses_c'), 'ses_c');
  });
});
