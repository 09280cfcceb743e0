import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
