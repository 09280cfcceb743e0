import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { prepaidLimitAction } from '../../../src/aaa/protocol/prepaid-limit.ts';

describe('what a session is told when its prepaid seconds change (RFC 5176)', () => {
  it('nothing when the quota is unlimited or still covers what the session was granted', () => {
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: null, sessionTimeout: 600, elapsed: 10 }), { action: 'none' });
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 600, sessionTimeout: 600, elapsed: 10 }), { action: 'none' });
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 900, sessionTimeout: 600, elapsed: 10 }), { action: 'none' }, 'more time waits for the next log-in');
  });

  it('a CoA-Request with the seconds left from now, or a Disconnect-Request when none are', () => {
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 600, sessionTimeout: 3600, elapsed: 120 }), { action: 'coa', sessionTimeout: 480 });
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 600, sessionTimeout: null, elapsed: 0.5 }), { action: 'coa', sessionTimeout: 600 }, 'a session granted no limit gets one');
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 600, sessionTimeout: 3600, elapsed: 600 }), { action: 'disconnect' });
    assert.deepEqual(prepaidLimitAction({ secondsRemaining: 0, sessionTimeout: 3600, elapsed: 0 }), { action: 'disconnect' });
  });

  it('never lets a session run past the seconds it has, counted from its start or from the CoA', () => {
    fc.assert(fc.property(fc.nat(100_000), fc.option(fc.nat(100_000)), fc.nat(100_000), (remaining, granted, elapsed) => {
      const a = prepaidLimitAction({ secondsRemaining: remaining, sessionTimeout: granted, elapsed });
      if (a.action === 'coa') {
        assert.ok(a.sessionTimeout > 0);
        assert.ok(elapsed + a.sessionTimeout <= remaining, 'counted from the CoA');
        assert.ok(a.sessionTimeout <= remaining, 'counted from the start');
      }
      if (a.action === 'none') assert.ok(granted !== null && remaining >= granted);
      if (a.action === 'disconnect') assert.ok(elapsed >= remaining);
    }));
  });
});
