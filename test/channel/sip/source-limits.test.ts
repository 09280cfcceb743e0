import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exchangeLimitsSchema, toSourceLimits } from '../../../src/channel/exchange/exchange-limits.ts';
import { configSchema } from '../../../src/config/schema.ts';
import { ConnectionAdmission, SourceGuard, defaultSourceLimits, type SourceLimits, SourceRateLimiter } from '@sideband/sip/transport';

const limits = (overrides: Partial<SourceLimits>): SourceLimits => ({ ...defaultSourceLimits, ...overrides });

describe('per-source limits of the SIP stack', () => {
  it('refuse a source past maxConnectionsPerSource, counting only its unauthenticated connections', () => {
    const admission = new ConnectionAdmission(limits({ maxConnectionsPerSource: 2 }));
    assert.deepEqual([admission.admit(1, 'a', false), admission.admit(2, 'a', false)], [{ admitted: true, evict: null }, { admitted: true, evict: null }]);
    assert.deepEqual(admission.admit(3, 'a', false), { admitted: false, cause: 'connection-source-limit' });
    assert.equal(admission.authenticated(1), true);
    assert.deepEqual(admission.admit(4, 'a', false), { admitted: true, evict: null }, 'an authenticated connection leaves the share');
    assert.deepEqual(admission.admit(5, 'b', false), { admitted: true, evict: null });
  });

  it('keep reservedConnections for lines: a full share or table evicts the oldest connection of the address holding the most', () => {
    const admission = new ConnectionAdmission(limits({ maxConnections: 6, reservedConnections: 2, maxConnectionsPerSource: 3 }));
    for (const [id, address] of [[1, 'a'], [2, 'a'], [3, 'a'], [4, 'b']] as const) admission.admit(id, address, false);
    assert.deepEqual(admission.admit(5, 'c', false), { admitted: true, evict: 1 }, 'the share of 6 - 2 is full: the oldest of a, which holds three');
    admission.closed(1);
    admission.requested(5);
    assert.equal(admission.authenticated(5), true);
    assert.deepEqual(admission.admit(6, 'd', false), { admitted: true, evict: null }, 'a line authenticated, which made room in the share');
    assert.deepEqual(admission.admit(7, 'e', false), { admitted: true, evict: 2 });
    admission.closed(2);
    admission.authenticated(6);
    admission.authenticated(7);
    assert.deepEqual([admission.open, admission.unauthenticated], [5, 2]);
    assert.deepEqual(admission.admit(8, 'f', false), { admitted: true, evict: null });
    assert.deepEqual(admission.admit(9, 'g', false), { admitted: true, evict: 3 }, 'the table is full: an unauthenticated connection goes, never a line\'s');
    admission.closed(3);
    for (const id of [4, 8, 9]) admission.authenticated(id);
    assert.deepEqual([admission.open, admission.unauthenticated], [6, 0]);
    assert.deepEqual(admission.admit(10, 'h', false), { admitted: false, cause: 'connection-limit' });
  });

  it('refuse a connection only when the table is full of lines; our own connections always open', () => {
    const admission = new ConnectionAdmission(limits({ maxConnections: 2, reservedConnections: 1 }));
    admission.admit(1, 'a', false);
    admission.authenticated(1);
    admission.admit(2, 'b', true);
    assert.deepEqual(admission.admit(3, 'c', false), { admitted: false, cause: 'connection-limit' });
    assert.deepEqual(admission.admit(4, 'd', true), { admitted: true, evict: null });
    assert.equal(admission.standing(4), 'outbound');
  });

  it('let each address send its burst, then its rate, whatever the others send', () => {
    let now = 0;
    const limiter = new SourceRateLimiter(10, 5, 2, () => now);
    const take = (address: string, n: number) => Array.from({ length: n }, () => limiter.take(address)).filter(Boolean).length;
    assert.equal(take('a', 20), 5);
    assert.equal(take('b', 3), 3);
    now += 300;
    assert.equal(take('a', 20), 3, '10 a second for 0.3 s');
    assert.equal(take('c', 1), 1);
    assert.equal(limiter.size, 2, 'b, heard from least recently, was forgotten');
  });

  it('give an address a line authenticated from the line rate, for an hour', () => {
    let now = 0;
    const guard = new SourceGuard({ messagesPerSecond: 10, messageBurst: 10, lineMessagesPerSecond: 50 }, () => now);
    const sent = (address: string, n: number) => Array.from({ length: n }, () => guard.allowMessage(address)).filter(Boolean).length;
    assert.equal(sent('192.0.2.1', 200), 10);
    guard.lineAuthenticatedFrom('192.0.2.1');
    assert.equal(sent('192.0.2.1', 200), 100, 'two seconds of the line rate at once');
    assert.equal(sent('192.0.2.2', 200), 10, 'others keep the ordinary rate');
    now += 3600_001;
    assert.equal(sent('192.0.2.1', 200), 10, 'an hour later, an ordinary address again');
  });

  it('have one set of defaults: the SIP stack, the exchange and the configuration agree', () => {
    assert.deepEqual(toSourceLimits(exchangeLimitsSchema.parse({})), defaultSourceLimits);
    assert.deepEqual(toSourceLimits(configSchema.parse({}).channel.exchange.limits), defaultSourceLimits);
    assert.throws(() => new SourceGuard({ reservedConnections: 1024 }), /reservedConnections must be below maxConnections/);
    assert.throws(() => new SourceGuard({ messageBurst: 0.5 }), /messageBurst must be a whole number/);
  });
});
