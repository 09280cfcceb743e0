import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DestinationBook } from '../../../src/tracking/service/destination-book.ts';
import { ReferenceDestinationBook } from './destination-book-reference.ts';

type Op =
  | { kind: 'record'; exporter: number; session: number; destination: number; at: number; flows: number }
  | { kind: 'drain'; refreshMs: number }
  | { kind: 'expire'; now: number }
  | { kind: 'read'; session: number; now: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('record' as const), exporter: fc.integer({ min: 0, max: 2 }), session: fc.integer({ min: 0, max: 6 }), destination: fc.integer({ min: 0, max: 9 }), at: fc.integer({ min: 0, max: 50_000 }), flows: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drain' as const), refreshMs: fc.constantFrom(0, 1000, 10_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), now: fc.integer({ min: 0, max: 80_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), session: fc.integer({ min: 0, max: 6 }), now: fc.integer({ min: 0, max: 80_000 }) }) },
);

const row = (e: { sessionId: string; destination: string; firstSeen: number; lastSeen: number; flows: number }) => ({ sessionId: e.sessionId, destination: e.destination, firstSeen: e.firstSeen, lastSeen: e.lastSeen, flows: e.flows });

describe('the destination book against its earlier implementation', () => {
  it('drains the same rows in the same order, reads the same destinations and holds as many, within tight limits, and hands each flow to the store once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (ops, perSession, sessionsPerExporter) => {
        const limits = { perSession, maxAgeMs: 20_000, sessionsPerExporter };
        const book = new DestinationBook(limits);
        const model = new ReferenceDestinationBook(limits);
        // Every flow recorded reaches the store exactly once, as drained newFlows, whatever
        // was evicted or expired on the way (the store adds them up: destination-tracking.ts).
        const recorded = new Map<string, number>();
        const drained = new Map<string, number>();
        const add = (counts: Map<string, number>, key: string, n: number) => counts.set(key, (counts.get(key) ?? 0) + n);
        const drainBoth = (refreshMs?: number) => {
          const rows = book.drain(refreshMs);
          for (const e of rows) add(drained, `${e.sessionId}|${e.destination}`, e.newFlows);
          assert.deepEqual(rows.map(row), model.drain(refreshMs).map(row));
        };
        for (const o of ops) {
          if (o.kind === 'record') {
            const args = [`e${o.exporter}`, `s${o.session}`, `198.51.100.${o.destination}`, o.at, o.flows] as const;
            book.record(...args);
            model.record(...args);
            add(recorded, `s${o.session}|198.51.100.${o.destination}`, o.flows);
          } else if (o.kind === 'drain') {
            drainBoth(o.refreshMs);
          } else if (o.kind === 'expire') {
            book.expire(o.now);
            model.expire(o.now);
          } else {
            assert.deepEqual(book.of(`s${o.session}`, o.now), model.of(`s${o.session}`, o.now));
          }
          assert.deepEqual(book.size, model.size);
          assert.equal(book.evictions, model.evictions);
        }
        drainBoth();
        assert.deepEqual(drained, recorded);
      }),
      { numRuns: 400 },
    );
  });
});
