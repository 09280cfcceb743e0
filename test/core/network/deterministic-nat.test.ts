import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeterministicNat, DeterministicNatError } from '../../../src/core/network/deterministic-nat.ts';

describe('deterministic NAT (RFC 7422)', () => {
  it('spreads inside addresses over the outside addresses first, then over the port ranges', () => {
    const nat = new DeterministicNat({ inside: '100.64.0.0/24', outside: '198.51.100.0/30', portsPerSubscriber: 1000 });
    assert.equal(nat.rangesPerAddress, 64);
    assert.deepEqual(nat.forward('100.64.0.0'), { address: '198.51.100.0', first: 1024, last: 2023 });
    assert.deepEqual(nat.forward('100.64.0.3'), { address: '198.51.100.3', first: 1024, last: 2023 });
    assert.deepEqual(nat.forward('100.64.0.5'), { address: '198.51.100.1', first: 2024, last: 3023 });
    assert.deepEqual(nat.forward('100.64.0.255'), { address: '198.51.100.3', first: 1024 + 63 * 1000, last: 1024 + 64 * 1000 - 1 });
    assert.equal(nat.forward('100.64.1.0'), undefined);
  });

  it('maps every outside address and port back to the inside address that uses it, and nothing else', () => {
    const nat = new DeterministicNat({ inside: '10.0.0.0/26', outside: '192.0.2.0/31', portsPerSubscriber: 2016, firstPort: 1024 });
    for (let i = 0; i < 64; i++) {
      const inside = `10.0.0.${i}`;
      const out = nat.forward(inside)!;
      for (const port of [out.first, out.first + 1007, out.last]) assert.equal(nat.reverse(out.address, port), inside);
      if (out.first > 1024) assert.notEqual(nat.reverse(out.address, out.first - 1), inside);
    }
    assert.equal(nat.reverse('192.0.2.0', 80), undefined, 'system ports are never mapped');
    assert.equal(nat.reverse('192.0.2.2', 5000), undefined, 'not an outside address');
    // 2 outside addresses × 32 ranges serve exactly 64; the last 64512 - 32 × 2016 = 0 ports are left.
    assert.equal(nat.reverse('192.0.2.1', 65535), '10.0.0.63');
  });

  it('refuses a mapping whose outside side serves fewer subscribers than the inside range holds', () => {
    assert.throws(() => new DeterministicNat({ inside: '100.64.0.0/24', outside: '198.51.100.0/30', portsPerSubscriber: 2000 }), (e: unknown) => e instanceof DeterministicNatError && e.fault === 'too-many-inside');
    assert.throws(() => new DeterministicNat({ inside: '100.64.0.0/24', outside: '198.51.100.0/30', portsPerSubscriber: 0 }), (e: unknown) => e instanceof DeterministicNatError && e.fault === 'ports-invalid');
    assert.throws(() => new DeterministicNat({ inside: 'fd00::/120', outside: '198.51.100.0/30', portsPerSubscriber: 100 }), (e: unknown) => e instanceof DeterministicNatError && e.fault === 'not-ipv4');
  });
});
