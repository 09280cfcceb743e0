import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountingEventTime } from '../../../src/aaa/protocol/accounting-event-time.ts';

const receivedAt = 1_800_000_000_000;
const bounds = { receivedAt, maxDelayMs: 86_400_000, maxAheadMs: 60_000 };

describe('when an Accounting-Request happened', () => {
  it('is its Event-Timestamp when present, even beside Acct-Delay-Time (RFC 2869 §5.3)', () => {
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: 1_799_999_000, acctDelayTime: 5 }), { ok: true, at: 1_799_999_000_000, source: 'event-timestamp' });
  });

  it('is arrival minus Acct-Delay-Time without one (RFC 2866 §5.2), and arrival without either', () => {
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: null, acctDelayTime: 30 }), { ok: true, at: receivedAt - 30_000, source: 'acct-delay-time' });
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: null, acctDelayTime: null }), { ok: true, at: receivedAt, source: 'arrival' });
  });

  it('takes a clock a little ahead as arrival, and refuses one far ahead', () => {
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: receivedAt / 1000 + 30, acctDelayTime: null }), { ok: true, at: receivedAt, source: 'event-timestamp' });
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: receivedAt / 1000 + 61, acctDelayTime: null }), { ok: false, cause: 'event-timestamp-ahead', claimed: receivedAt + 61_000 });
  });

  it('refuses a date further back than the bound: a delay of days, a clock at 1970', () => {
    assert.equal(accountingEventTime({ ...bounds, eventTimestamp: null, acctDelayTime: 86_400 }).ok, true, 'the bound itself is accepted');
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: null, acctDelayTime: 3 * 86_400 }), { ok: false, cause: 'acct-delay-time-too-long', claimed: receivedAt - 3 * 86_400_000 });
    assert.deepEqual(accountingEventTime({ ...bounds, eventTimestamp: 86_400, acctDelayTime: null }), { ok: false, cause: 'event-timestamp-too-old', claimed: 86_400_000 });
  });
});
