import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ResponseCache } from '../../../src/aaa/service/response-cache.ts';

// The RADIUS response cache (retransmissions answered from it, RFC 5080 §2.2.2) keeps its
// age order apart from its Map, so that eviction does not walk the holes deleted keys
// leave at a Map's front. The model is the cache as it was before: one Map, whose
// insertion order is the age order, evicted from its front. After every step, what each
// key gives must be the same in both.

class MapCache {
  private entries = new Map<string, { reply: Buffer | 'pending'; at: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}
  get(key: string, now: number): Buffer | 'pending' | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.reply;
  }
  begin(key: string, now: number): void {
    this.entries.set(key, { reply: 'pending', at: now });
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - e.at <= this.ttlMs) break;
      this.entries.delete(k);
    }
  }
  finish(key: string, reply: Buffer, now: number): void {
    this.entries.set(key, { reply, at: now });
  }
  abandon(key: string): void {
    this.entries.delete(key);
  }
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

type Step =
  | { op: 'begin' | 'get' | 'abandon'; key: string; advance: number }
  | { op: 'finish'; key: string; advance: number; reply: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('begin' as const, 'get' as const, 'abandon' as const), key: fc.constantFrom(...KEYS), advance: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('finish' as const), key: fc.constantFrom(...KEYS), advance: fc.integer({ min: 0, max: 40 }), reply: fc.integer({ min: 0, max: 255 }) }),
);

const shown = (v: Buffer | 'pending' | undefined): string => (v === undefined ? 'none' : v === 'pending' ? 'pending' : `reply ${v[0]}`);

describe('the RADIUS response cache', () => {
  it('answers every key as the one-Map cache did, through begins, answers, abandons, expiry and the size cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 120 }), fc.integer({ min: 1, max: 6 }), fc.array(step, { maxLength: 300, size: 'max' }), (ttl, max, steps) => {
        const real = new ResponseCache(ttl, max);
        const model = new MapCache(ttl, max);
        let now = 0;
        for (const [i, s] of steps.entries()) {
          now += s.advance;
          if (s.op === 'begin') {
            real.begin(s.key, now);
            model.begin(s.key, now);
          } else if (s.op === 'finish') {
            real.finish(s.key, Buffer.of(s.reply), now);
            model.finish(s.key, Buffer.of(s.reply), now);
          } else if (s.op === 'abandon') {
            real.abandon(s.key);
            model.abandon(s.key);
          }
          // Reading is a step too (an expired entry is dropped when read): both read alike.
          if (s.op === 'get' || i % 7 === 0) {
            for (const key of KEYS) assert.equal(shown(real.get(key, now)), shown(model.get(key, now)), `${key} after step ${i} (${s.op} ${s.key} at ${now})`);
          }
        }
        for (const key of KEYS) assert.equal(shown(real.get(key, now)), shown(model.get(key, now)), `${key} at the end`);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps no more than its cap however long it runs, and forgets what outlived its age', () => {
    const cache = new ResponseCache(1_000, 500);
    // Far more requests than the cap, a millisecond apart: the order array is compacted as it goes.
    for (let i = 0; i < 20_000; i++) cache.begin(`k${i}`, i);
    let kept = 0;
    for (let i = 0; i < 20_000; i++) if (cache.get(`k${i}`, 19_999) !== undefined) kept++;
    assert.equal(kept, 500, 'the newest 500, the cap');
    kept = 0;
    for (let i = 0; i < 20_000; i++) if (cache.get(`k${i}`, 21_000) !== undefined) kept++;
    assert.equal(kept, 0, 'every entry is older than the time to live at 21,000');
    for (let i = 20_000; i < 21_000; i++) cache.begin(`k${i}`, 21_500);
    for (let i = 20_000; i < 21_000; i++) if (cache.get(`k${i}`, 21_500) !== undefined) kept++;
    assert.equal(kept, 500, 'the newest 500 of a burst over the cap');
  });
});
