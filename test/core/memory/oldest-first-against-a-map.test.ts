import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OldestFirst } from '../../../src/core/memory/oldest-first.ts';

// OldestFirst against a plain Map, whose insertion order it keeps: after every step the
// size, the oldest entry and what every key holds must be the same.

type Step = { op: 'set'; key: number; value: number } | { op: 'delete' | 'get'; key: number } | { op: 'deleteOldest' | 'clear' };

const key = fc.integer({ min: 0, max: 9 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'get' as const), key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deleteOldest' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

describe('OldestFirst', () => {
  it('keeps a Map\'s insertion order through sets, deletes, clears and dropping the oldest', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400, size: 'max' }), (steps) => {
        const real = new OldestFirst<number, number>();
        const model = new Map<number, number>();
        for (const [i, s] of steps.entries()) {
          if (s.op === 'set') {
            real.set(s.key, s.value);
            model.set(s.key, s.value);
          } else if (s.op === 'delete') assert.equal(real.delete(s.key), model.delete(s.key));
          else if (s.op === 'deleteOldest') {
            const first = model.keys().next();
            if (!first.done) model.delete(first.value);
            assert.equal(real.deleteOldest(), !first.done);
          } else if (s.op === 'clear') {
            real.clear();
            model.clear();
          }
          const at = `after step ${i} (${JSON.stringify(s)})`;
          assert.equal(real.size, model.size, at);
          const first = model.entries().next();
          assert.deepEqual(real.oldest() && [real.oldest()!.key, real.oldest()!.value], first.done ? undefined : first.value, at);
          for (let k = 0; k <= 9; k++) {
            assert.equal(real.has(k), model.has(k), at);
            assert.equal(real.get(k), model.get(k), at);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stays in order past the point where it compacts its order', () => {
    const kept = new OldestFirst<number, number>();
    for (let i = 0; i < 10_000; i++) {
      kept.set(i, i);
      if (kept.size > 100) kept.deleteOldest();
      // A key deleted from the middle and set again goes to the end, as in a Map.
      if (i % 50 === 0 && kept.has(i - 20)) {
        kept.delete(i - 20);
        kept.set(i - 20, -1);
      }
    }
    const order: number[] = [];
    while (kept.size > 0) {
      order.push(kept.oldest()!.key);
      kept.deleteOldest();
    }
    assert.equal(order.length, 100);
    assert.deepEqual(order.slice(-3), [9_997, 9_998, 9_999]);
    assert.ok(order.every((k, i) => i === 0 || k !== order[i - 1]), 'no key twice');
  });

  it('keeps its order array bounded when keys are deleted and set again without ever dropping the oldest', () => {
    // A subscriber's failed log-ins: each moves its key to the end, and the cap is never reached.
    const failures = new OldestFirst<string, number>();
    for (let i = 0; i < 200_000; i++) {
      const key = `login-${i % 5}`;
      failures.delete(key);
      failures.set(key, i);
    }
    const retained = (failures as unknown as { order: unknown[]; head: number }).order.length;
    assert.ok(retained <= 2 * failures.size + 1025, `${retained} places kept for ${failures.size} entries`);
    assert.deepEqual([failures.oldest()?.key, failures.oldest()?.value], ['login-0', 199_995]);
  });
});
