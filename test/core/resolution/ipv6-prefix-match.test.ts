import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';

const T = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;

/** A dual-stack subscriber: the link's /64 and a delegated /56, then the /56 again for someone else. */
function dualStack(): BindingIndex {
  const index = new BindingIndex();
  index.add({ id: 'bnd_link', sessionId: 'ses_a', address: '2001:db8:ff:1::', prefixLength: 64, start: T, end: T + 30 * MINUTE });
  index.add({ id: 'bnd_home', sessionId: 'ses_a', address: '2001:db8:0:100::', prefixLength: 56, start: T, end: T + 30 * MINUTE });
  index.add({ id: 'bnd_home2', sessionId: 'ses_b', address: '2001:db8:0:100::', prefixLength: 56, start: T + 60 * MINUTE, end: null });
  return index;
}

describe('IPv6 prefixes in the resolution index', () => {
  it('answers for any address inside a held prefix, at its time only', () => {
    const index = dualStack();
    assert.equal(index.resolve('2001:db8:0:1ab:c0ff:ee::9', T + MINUTE)?.sessionId, 'ses_a');
    assert.equal(index.resolve('2001:db8:0:100::', T + MINUTE)?.sessionId, 'ses_a');
    assert.equal(index.resolve('2001:db8:0:1ff:ffff:ffff:ffff:ffff', T + MINUTE)?.sessionId, 'ses_a');
    assert.equal(index.resolve('2001:db8:0:200::1', T + MINUTE), undefined, 'just past the /56');
    assert.equal(index.resolve('2001:db8:0:1ab::9', T + 45 * MINUTE), undefined, 'released, not yet reassigned');
    assert.equal(index.resolve('2001:db8:0:1ab::9', T + 61 * MINUTE)?.sessionId, 'ses_b');
    assert.equal(index.resolve('2001:db8:ff:1:2::3', T + MINUTE, 443)?.id, 'bnd_link', 'a port changes nothing for a prefix');
    assert.deepEqual(index.resolve('2001:DB8:0:1AB::9', T + MINUTE), { id: 'bnd_home', sessionId: 'ses_a', address: '2001:db8:0:100::', prefixLength: 56, start: T, end: T + 30 * MINUTE });
  });

  it('prefers the longest prefix held at the time, then a single address', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_48', sessionId: 'ses_wide', address: '2001:db8:1::', prefixLength: 48, start: T, end: null });
    index.add({ id: 'bnd_64', sessionId: 'ses_narrow', address: '2001:db8:1:5::', prefixLength: 64, start: T + MINUTE, end: T + 2 * MINUTE });
    index.add({ id: 'bnd_host', sessionId: 'ses_host', address: '2001:db8:1:5::77', start: T, end: null });
    assert.equal(index.resolve('2001:db8:1:5::1', T + 90_000)?.sessionId, 'ses_narrow');
    assert.equal(index.resolve('2001:db8:1:5::1', T + 3 * MINUTE)?.sessionId, 'ses_wide', 'the /64 has ended: the /48 answers');
    assert.equal(index.resolve('2001:db8:1:5::77', T + 90_000)?.sessionId, 'ses_host');
    assert.equal(index.resolve('198.51.100.1', T + MINUTE), undefined);
  });

  it('closes and removes prefix bindings by id, and refuses a prefix with host bits set', () => {
    const index = dualStack();
    assert.equal(index.close('bnd_home2', T + 90 * MINUTE), true);
    assert.equal(index.resolve('2001:db8:0:1ab::9', T + 91 * MINUTE), undefined);
    assert.equal(index.remove('bnd_link'), true);
    assert.equal(index.resolve('2001:db8:ff:1::1', T + MINUTE), undefined);
    assert.equal(index.get('bnd_home')?.prefixLength, 56);
    assert.throws(() => index.add({ id: 'bnd_bad', sessionId: 'ses_c', address: '2001:db8:0:101::', prefixLength: 56, start: T, end: null }), /host bits/);
    assert.throws(() => index.add({ id: 'bnd_v4', sessionId: 'ses_c', address: '198.51.100.0', prefixLength: 24, start: T, end: null }), /prefix length/);
  });
});
