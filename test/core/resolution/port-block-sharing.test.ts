import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';

const T = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;
const SHARED = '198.18.0.7';

/** Two subscribers behind one public address, each with a block of 2048 source ports. */
function sharedAddress(): BindingIndex {
  const index = new BindingIndex();
  index.add({ id: 'bnd_a', sessionId: 'ses_a', address: SHARED, portFirst: 2048, portLast: 4095, start: T, end: null });
  index.add({ id: 'bnd_b', sessionId: 'ses_b', address: SHARED, portFirst: 4096, portLast: 6143, start: T + MINUTE, end: T + 10 * MINUTE });
  return index;
}

describe('port blocks on a shared address', () => {
  it('tells two subscribers apart by source port', () => {
    const index = sharedAddress();
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 2048)?.sessionId, 'ses_a');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 4095)?.sessionId, 'ses_a');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 4096)?.sessionId, 'ses_b');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 6143)?.sessionId, 'ses_b');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 6144), undefined);
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 1024), undefined);
    assert.equal(index.resolve(SHARED, T, 5000), undefined, 'before the second block was bound');
    assert.equal(index.resolve(SHARED, T + 10 * MINUTE, 5000), undefined, 'after it ended');
    assert.deepEqual(index.resolve(SHARED, T, 3000), { id: 'bnd_a', sessionId: 'ses_a', address: SHARED, portFirst: 2048, portLast: 4095, start: T, end: null });
  });

  it('declines to answer without a port, and says a port is needed', () => {
    const index = sharedAddress();
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE), undefined);
    assert.equal(index.isPortBlocked(SHARED, T + 2 * MINUTE), true);
    // Even while one subscriber holds a block alone: other ports were never theirs.
    assert.equal(index.resolve(SHARED, T), undefined);
    assert.equal(index.isPortBlocked(SHARED, T), true);
    assert.equal(index.isPortBlocked(SHARED, T - 1), false);
    assert.equal(index.isPortBlocked('198.18.0.8', T), false);
  });

  it('answers without a port when one binding holds every port of the address', () => {
    const index = sharedAddress();
    index.close('bnd_a', T + 20 * MINUTE);
    index.add({ id: 'bnd_whole', sessionId: 'ses_w', address: SHARED, start: T + 30 * MINUTE, end: null });
    index.add({ id: 'bnd_full', sessionId: 'ses_f', address: '198.18.0.9', portFirst: 0, portLast: 65535, start: T, end: null });
    assert.equal(index.resolve(SHARED, T + 30 * MINUTE)?.sessionId, 'ses_w');
    assert.equal(index.resolve(SHARED, T + 30 * MINUTE, 3000)?.sessionId, 'ses_w');
    assert.equal(index.isPortBlocked(SHARED, T + 30 * MINUTE), false);
    assert.equal(index.isPortBlocked(SHARED, T + 15 * MINUTE), true);
    const full = index.resolve('198.18.0.9', T);
    assert.equal(full?.sessionId, 'ses_f');
    assert.equal(full?.portFirst, undefined, 'a block of every port is a whole-address binding');
  });

  it('lets a later port block take ports from an earlier whole-address binding, and no more', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_w', sessionId: 'ses_w', address: SHARED, start: T, end: null });
    index.add({ id: 'bnd_p', sessionId: 'ses_p', address: SHARED, portFirst: 2048, portLast: 4095, start: T + MINUTE, end: null });
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 3000)?.sessionId, 'ses_p');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 5000)?.sessionId, 'ses_w');
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE), undefined);
    assert.equal(index.resolve(SHARED, T)?.sessionId, 'ses_w');
  });

  it('keeps the history of each block apart', () => {
    const index = sharedAddress();
    index.add({ id: 'bnd_c', sessionId: 'ses_c', address: SHARED, portFirst: 4096, portLast: 6143, start: T + 10 * MINUTE, end: null });
    assert.equal(index.resolve(SHARED, T + 10 * MINUTE - 1, 5000)?.sessionId, 'ses_b');
    assert.equal(index.resolve(SHARED, T + 10 * MINUTE, 5000)?.sessionId, 'ses_c');
    assert.equal(index.resolve(SHARED, T + 10 * MINUTE, 3000)?.sessionId, 'ses_a');
  });

  it('reports the open holder of a port, or of any part of the address, for allocation', () => {
    const index = sharedAddress();
    assert.equal(index.openAt(SHARED, 3000)?.id, 'bnd_a');
    assert.equal(index.openAt(SHARED, 5000), undefined, 'bnd_b has ended');
    assert.equal(index.openAt(SHARED, 7000), undefined);
    assert.equal(index.openAt(SHARED)?.id, 'bnd_a');
    index.add({ id: 'bnd_c', sessionId: 'ses_c', address: SHARED, portFirst: 4096, portLast: 6143, start: T + 20 * MINUTE, end: null });
    assert.equal(index.openAt(SHARED, 5000)?.id, 'bnd_c');
    assert.equal(index.openAt(SHARED)?.id, 'bnd_c', 'the one started last');
    assert.equal(index.openAt(SHARED, 70000), undefined);
  });

  it('forgets an emptied block and keeps the others', () => {
    const index = sharedAddress();
    assert.equal(index.remove('bnd_b'), true);
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 5000), undefined);
    assert.equal(index.resolve(SHARED, T + 2 * MINUTE, 3000)?.sessionId, 'ses_a');
    assert.equal(index.remove('bnd_a'), true);
    assert.equal(index.isPortBlocked(SHARED, T + 2 * MINUTE), false);
    index.add({ id: 'bnd_b', sessionId: 'ses_b2', address: SHARED, portFirst: 4096, portLast: 6143, start: T, end: null });
    assert.equal(index.resolve(SHARED, T, 5000)?.sessionId, 'ses_b2');
  });
});
