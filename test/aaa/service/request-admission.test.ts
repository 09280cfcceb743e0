import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestAdmission } from '../../../src/aaa/service/request-admission.ts';

describe('RADIUS request admission', () => {
  it('admits a NAS within its burst, then over its rate only while half the pending capacity is free', () => {
    const a = new RequestAdmission({ requestsPerSecondPerNas: 10, burstPerNas: 3, maxPendingRequests: 8 });
    assert.deepEqual([0, 1, 2].map(() => a.admit('flood', 0)), ['within-rate', 'within-rate', 'within-rate']);
    assert.equal(a.admit('flood', 0), 'over-rate');
    assert.equal(a.pending, 4);
    assert.equal(a.admit('flood', 0), 'shed-over-rate', 'saturated: the over-rate NAS goes first');
    assert.equal(a.admit('quiet', 0), 'within-rate', 'another NAS within its rate is still admitted');
    a.done();
    a.done();
    assert.equal(a.admit('flood', 0), 'over-rate', 'room again: an over-rate NAS is served when the server is idle enough');
  });

  it('refills each bucket at its rate, and sheds everything at the pending bound', () => {
    const a = new RequestAdmission({ requestsPerSecondPerNas: 10, burstPerNas: 1, maxPendingRequests: 2 });
    assert.equal(a.admit('a', 0), 'within-rate');
    assert.equal(a.admit('a', 50), 'shed-over-rate', 'half a token after 50 ms at 10/s, and the server is half full');
    assert.equal(a.admit('a', 100), 'within-rate', 'one token after 100 ms');
    assert.equal(a.admit('b', 100), 'shed-overloaded', 'at the bound even a NAS within its rate is shed');
    a.done();
    assert.equal(a.admit('b', 100), 'within-rate', 'the shed request did not spend its token');
  });
});
