import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';
import { SourceHolders } from '../../../src/tracking/service/source-holders.ts';

// Four addresses 0.0.0.1–0.0.0.4 as numbers and text, so that histories overlap often.
const text = (a: number) => `0.0.0.${a}`;

type Step =
  | { kind: 'bind'; address: number; session: number; start: number; block: boolean }
  | { kind: 'close'; which: number; end: number }
  | { kind: 'move'; which: number; address: number }
  | { kind: 'ask'; address: number; at: number; port: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('bind' as const), address: fc.integer({ min: 1, max: 4 }), session: fc.integer({ min: 0, max: 5 }), start: fc.integer({ min: 0, max: 100 }), block: fc.boolean() }),
  fc.record({ kind: fc.constant('close' as const), which: fc.nat(), end: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ kind: fc.constant('move' as const), which: fc.nat(), address: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('ask' as const), address: fc.integer({ min: 1, max: 5 }), at: fc.integer({ min: -5, max: 130 }), port: fc.integer({ min: 0, max: 65535 }) }),
);

describe('SourceHolders against the binding index', () => {
  it('answers only what resolve answers, at any time and port, however the bindings change between two questions', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120, size: 'max' }), (steps) => {
        const index = new BindingIndex();
        const holders = new SourceHolders(index);
        const bound: { id: string; session: string; address: number; start: number; end: number | null; block: boolean }[] = [];
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'bind') {
            const b = { id: `bnd_${n++}`, session: `ses_${s.session}`, address: s.address, start: s.start, end: null, block: s.block };
            index.add({ id: b.id, sessionId: b.session, address: text(b.address), ...(b.block ? { portFirst: 1024, portLast: 2047 } : {}), start: b.start, end: null });
            bound.push(b);
          } else if (s.kind === 'close' && bound.length > 0) {
            const b = bound[s.which % bound.length]!;
            if (b.end === null && index.close(b.id, Math.max(b.start, s.end))) b.end = Math.max(b.start, s.end);
          } else if (s.kind === 'move' && bound.length > 0) {
            // The session service moves a binding by removing it and adding it again.
            const b = bound[s.which % bound.length]!;
            index.remove(b.id);
            b.address = s.address;
            index.add({ id: b.id, sessionId: b.session, address: text(b.address), ...(b.block ? { portFirst: 1024, portLast: 2047 } : {}), start: b.start, end: b.end });
          } else if (s.kind === 'ask') {
            const got = holders.holder(s.address, s.at);
            if (got === undefined) continue;
            const withPort = index.resolve(text(s.address), s.at, s.port)?.sessionId ?? null;
            const withoutPort = index.resolve(text(s.address), s.at)?.sessionId ?? null;
            assert.equal(got, withPort, `${text(s.address)} at ${s.at} port ${s.port}`);
            assert.equal(got, withoutPort, `${text(s.address)} at ${s.at}, no port`);
            if (got === null) assert.equal(index.isPortBlocked(text(s.address), s.at), false);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps an answer while only other addresses change, as RADIUS changes them all the time', () => {
    const index = new BindingIndex();
    let asked = 0;
    const stableHolder = index.stableHolder.bind(index);
    index.stableHolder = (address, at, span) => {
      asked++;
      return stableHolder(address, at, span);
    };
    const holders = new SourceHolders(index);
    const address = 0xc0000207; // 192.0.2.7
    index.add({ id: 'bnd_a', sessionId: 'ses_ada', address: '192.0.2.7', start: 1000, end: null });
    assert.equal(holders.holder(address, 5000), 'ses_ada');
    assert.equal(asked, 1);
    // A thousand log-ins and log-outs elsewhere in 198.51.100.0/24 and 203.0.113.0/24.
    for (let i = 0; i < 1000; i++) {
      const other = `${i % 2 ? '198.51.100' : '203.0.113'}.${(i >> 1) % 250}`;
      index.add({ id: `bnd_o${i}`, sessionId: `ses_o${i}`, address: other, start: 2000 + i, end: null });
      index.close(`bnd_o${i}`, 2500 + i);
      assert.equal(holders.holder(address, 5000 + i), 'ses_ada');
    }
    // Another address may share the version's cell and cost a lookup now and then; most must not.
    assert.ok(asked < 20, `${asked} lookups for 1,000 records of an address nobody changed`);
    index.close('bnd_a', 5200);
    assert.equal(holders.holder(address, 5300), undefined, 'its own change is seen at once');
  });

  it('is asked again once a session closes, or its address goes to another subscriber, between two records', () => {
    const index = new BindingIndex();
    const holders = new SourceHolders(index);
    const address = 0xc0000207; // 192.0.2.7
    index.add({ id: 'bnd_a', sessionId: 'ses_ada', address: '192.0.2.7', start: 1000, end: null });
    assert.equal(holders.holder(address, 5000), 'ses_ada');
    assert.equal(holders.holder(address, 6000), 'ses_ada', 'from the cell');
    index.close('bnd_a', 5500);
    assert.equal(holders.holder(address, 6000), undefined, 'nobody held it at 6000: the caller resolves (and finds nobody, or a skew)');
    assert.equal(holders.holder(address, 5000), 'ses_ada', 'before the close, still hers');
    index.add({ id: 'bnd_b', sessionId: 'ses_bea', address: '192.0.2.7', start: 5500, end: null });
    assert.equal(holders.holder(address, 6000), 'ses_bea');
    assert.equal(holders.holder(address, 5000), 'ses_ada');
    // Moved: the whole binding goes elsewhere (removed, added again on another address).
    // Asked just before, at a time the answer covers: the move must not leave it standing.
    assert.equal(holders.holder(address, 6000), 'ses_bea');
    index.remove('bnd_b');
    index.add({ id: 'bnd_b', sessionId: 'ses_bea', address: '192.0.2.8', start: 5500, end: null });
    assert.equal(holders.holder(address, 6000), undefined);
    assert.equal(holders.holder(0xc0000208, 6000), 'ses_bea');
  });
});
