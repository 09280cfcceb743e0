import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DestinationBook } from '../../../src/tracking/service/destination-book.ts';

describe('the destination book', () => {
  it('keeps destinations newest first with first/last seen and flow counts', () => {
    const book = new DestinationBook({ perSession: 8, maxAgeMs: 60_000, sessionsPerExporter: 100 });
    book.record('e1', 's1', '198.51.100.1', 1000);
    book.record('e1', 's1', '198.51.100.2', 2000);
    book.record('e2', 's1', '198.51.100.1', 3000, 2);
    const list = book.of('s1', 4000);
    assert.deepEqual(list.map((d) => d.destination), ['198.51.100.1', '198.51.100.2']);
    assert.deepEqual(list[0], { destination: '198.51.100.1', firstSeen: 1000, lastSeen: 3000, flows: 3 });
  });

  it('bounds destinations per session by dropping the one seen longest ago', () => {
    const book = new DestinationBook({ perSession: 3, maxAgeMs: 60_000, sessionsPerExporter: 100 });
    for (let i = 0; i < 10; i++) book.record('e1', 's1', `203.0.113.${i}`, 1000 + i);
    assert.deepEqual(book.of('s1', 2000).map((d) => d.destination), ['203.0.113.9', '203.0.113.8', '203.0.113.7']);
  });

  it('forgets destinations past the age limit', () => {
    const book = new DestinationBook({ perSession: 8, maxAgeMs: 1000, sessionsPerExporter: 100 });
    book.record('e1', 's1', '203.0.113.1', 0);
    book.record('e1', 's1', '203.0.113.2', 1500);
    assert.deepEqual(book.of('s1', 2000).map((d) => d.destination), ['203.0.113.2']);
    book.expire(5000);
    assert.equal(book.size.destinations, 0);
  });

  it('a flood from one exporter cannot evict what another exporter reported', () => {
    const book = new DestinationBook({ perSession: 4, maxAgeMs: 60_000, sessionsPerExporter: 50 });
    book.record('quiet', 'victim', '198.51.100.7', 1000);
    for (let i = 0; i < 100_000; i++) book.record('flooder', `s${i}`, `203.0.113.${i % 250}`, 2000);
    assert.deepEqual(book.of('victim', 3000).map((d) => d.destination), ['198.51.100.7']);
    const size = book.size;
    assert.ok(size.sessions <= 51 && size.destinations <= 51 * 4, `memory stays bounded: ${JSON.stringify(size)}`);
  });

  it('when an exporter has too many sessions, one that sent flows since the last eviction outlives those that did not', () => {
    const book = new DestinationBook({ perSession: 4, maxAgeMs: 60_000, sessionsPerExporter: 3 });
    book.record('e1', 'old-busy', '198.51.100.1', 1000);
    book.record('e1', 'old-idle', '198.51.100.2', 1001);
    book.record('e1', 'newer', '198.51.100.3', 1002);
    book.record('e1', 'old-busy', '198.51.100.4', 1003);
    book.record('e1', 'newest', '198.51.100.5', 1004);
    assert.deepEqual(book.of('old-idle', 2000), [], 'the least recently used goes first');
    assert.equal(book.of('old-busy', 2000).length, 2);
    book.record('e1', 'another', '198.51.100.6', 1005);
    assert.deepEqual(book.of('newer', 2000), []);
    assert.equal(book.of('old-busy', 2000).length, 2);
    assert.equal(book.size.sessions, 3);
  });
});

describe('what the destination book gives the store', () => {
  const REFRESH = 10_000;
  // A step: a flow (session, destination, how far the clock moved) or a timer's drain.
  const step = fc.oneof(
    fc.record({ kind: fc.constant('flow' as const), session: fc.integer({ min: 0, max: 3 }), destination: fc.integer({ min: 0, max: 5 }), advance: fc.integer({ min: -2_000, max: 6_000 }) }),
    fc.record({ kind: fc.constant('drain' as const) }),
  );

  it('after each timer drain: every destination stored, the newest exact, the others at most the refresh late; a last drain stores all', () => {
    fc.assert(
      // Small bounds too, so that destinations and whole sessions are evicted between drains.
      fc.property(fc.array(step, { maxLength: 120, size: 'max' }), fc.constantFrom({ perSession: 64, sessionsPerExporter: 100 }, { perSession: 3, sessionsPerExporter: 2 }), (steps, bounds) => {
        const book = new DestinationBook({ ...bounds, maxAgeMs: 3_600_000 });
        const stored = new Map<string, { lastSeen: number; flows: number }>();
        const apply = (rows: ReturnType<DestinationBook['drain']>) => rows.forEach((r) => stored.set(`${r.sessionId}|${r.destination}`, { lastSeen: r.lastSeen, flows: r.flows }));
        let clock = 1_000_000;
        const sessions = new Set<string>();
        for (const s of steps) {
          if (s.kind === 'flow') {
            // Flow times may run backwards a little (exporters' clocks, late datagrams).
            clock += s.advance;
            book.record('e1', `s${s.session}`, `203.0.113.${s.destination}`, clock);
            sessions.add(`s${s.session}`);
            continue;
          }
          apply(book.drain(REFRESH));
          for (const session of sessions) {
            const live = book.of(session, clock);
            for (const d of live) {
              const row = stored.get(`${session}|${d.destination}`);
              assert.ok(row, `${session} ${d.destination} never reached the store`);
              assert.ok(d.lastSeen - row.lastSeen < REFRESH, `${session} ${d.destination} stored ${d.lastSeen - row.lastSeen} ms late`);
            }
            const newest = live[0];
            if (!newest) continue; // every destination of this session was evicted
            assert.equal(stored.get(`${session}|${newest.destination}`)!.lastSeen, newest.lastSeen, 'the newest destination is stored exactly');
          }
        }
        apply(book.drain(0));
        for (const session of sessions) for (const d of book.of(session, clock)) assert.deepEqual(stored.get(`${session}|${d.destination}`), { lastSeen: d.lastSeen, flows: d.flows });
      }),
      { numRuns: 300 },
    );
  });
});
