import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DestinationBook, type DestinationLimits } from '../../../src/tracking/service/destination-book.ts';
import { ReferenceDestinationBook } from './destination-book-reference.ts';

type Op =
  | { kind: 'record'; exporter: number; session: number; destination: number; at: number; flows: number; v4: boolean; hint: number }
  | { kind: 'drain'; refreshMs: number }
  | { kind: 'expire'; now: number }
  | { kind: 'read'; session: number; now: number };

// Spread over 50 s, and now and then in a 10 ms cluster, so that entries tie on lastSeen
// (eviction and drain take the first of equals in the order destinations came).
const atTimes = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 50_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 30_010 }) });

// The hint recordV4 is given: KEPT for the number it returned for that exporter's session
// last (what the collector keeps), or any number, which the book must see through.
const KEPT = -2;
const hints = fc.oneof({ weight: 3, arbitrary: fc.constant(KEPT) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 40 }) });

/** Operations over `sessions` sessions and `destinations` destinations (see destinationText). */
const opOver = (sessions: number, destinations: number, weights: { record: number; drain: number; expire: number; read: number }): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: weights.record, arbitrary: fc.record({ kind: fc.constant('record' as const), exporter: fc.integer({ min: 0, max: 2 }), session: fc.integer({ min: 0, max: sessions - 1 }), destination: fc.integer({ min: 0, max: destinations - 1 }), at: atTimes, flows: fc.integer({ min: 1, max: 3 }), v4: fc.boolean(), hint: hints }) },
    { weight: weights.drain, arbitrary: fc.record({ kind: fc.constant('drain' as const), refreshMs: fc.constantFrom(0, 1000, 10_000) }) },
    { weight: weights.expire, arbitrary: fc.record({ kind: fc.constant('expire' as const), now: fc.integer({ min: 0, max: 80_000 }) }) },
    { weight: weights.read, arbitrary: fc.record({ kind: fc.constant('read' as const), session: fc.integer({ min: 0, max: sessions - 1 }), now: fc.integer({ min: 0, max: 80_000 }) }) },
  );

// Every fifth destination is IPv6, which the book keys by its text, as it does any text
// that is not a dotted quad; the others are IPv4, recorded as text or (`v4`) as a number.
const IPV4_BASE = 0xc6336400; // 198.51.100.0
const isIpv6 = (destination: number) => destination % 5 === 4;
const destinationText = (destination: number) => (isIpv6(destination) ? `2001:db8::${destination.toString(16)}` : `198.51.${100 + (destination >> 8)}.${destination & 255}`);

const row = (e: { sessionId: string; destination: string; firstSeen: number; lastSeen: number; flows: number }) => ({ sessionId: e.sessionId, destination: e.destination, firstSeen: e.firstSeen, lastSeen: e.lastSeen, flows: e.flows });

function holdsToItsModel(ops: Op[], limits: DestinationLimits): void {
  const book = new DestinationBook(limits);
  const model = new ReferenceDestinationBook(limits);
  // Every flow recorded reaches the store exactly once, as drained newFlows, whatever
  // was evicted or expired on the way (the store adds them up: destination-tracking.ts).
  const recorded = new Map<string, number>();
  const drained = new Map<string, number>();
  const kept = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string, n: number) => counts.set(key, (counts.get(key) ?? 0) + n);
  const drainBoth = (refreshMs?: number) => {
    const rows = book.drain(refreshMs);
    for (const e of rows) add(drained, `${e.sessionId}|${e.destination}`, e.newFlows);
    assert.deepEqual(rows.map(row), model.drain(refreshMs).map(row));
  };
  for (const o of ops) {
    if (o.kind === 'record') {
      const args = [`e${o.exporter}`, `s${o.session}`, destinationText(o.destination), o.at, o.flows] as const;
      if (o.v4 && !isIpv6(o.destination)) {
        const hint = o.hint === KEPT ? (kept.get(`${args[0]}|${args[1]}`) ?? -1) : o.hint;
        kept.set(`${args[0]}|${args[1]}`, book.recordV4(args[0], args[1], IPV4_BASE + o.destination, o.at, o.flows, hint));
      } else book.record(...args);
      model.record(...args);
      add(recorded, `s${o.session}|${args[2]}`, o.flows);
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
}

describe('the destination book against its earlier implementation', () => {
  it('drains the same rows in the same order, reads the same destinations and holds as many, within tight limits, and hands each flow to the store once', () => {
    fc.assert(
      fc.property(fc.array(opOver(7, 10, { record: 8, drain: 2, expire: 1, read: 1 }), { maxLength: 200, size: 'max' }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (ops, perSession, sessionsPerExporter) =>
        holdsToItsModel(ops, { perSession, maxAgeMs: 20_000, sessionsPerExporter }),
      ),
      { numRuns: 400 },
    );
  });

  it('and with thousands of entries, enough for its table to grow, and to shrink again once they expire', () => {
    fc.assert(
      fc.property(fc.array(opOver(400, 300, { record: 200, drain: 2, expire: 1, read: 2 }), { minLength: 1500, maxLength: 3000 }), fc.integer({ min: 8, max: 64 }), fc.integer({ min: 100, max: 400 }), (ops, perSession, sessionsPerExporter) =>
        holdsToItsModel(ops, { perSession, maxAgeMs: 20_000, sessionsPerExporter }),
      ),
      // Shrinking thousands of operations takes minutes: the first failing case is reported as found.
      { numRuns: 25, endOnFailure: true },
    );
  });
});
