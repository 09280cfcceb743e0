import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import type { SidebandError } from '../../src/errors/sideband-error.ts';

describe('accounting and tracking settings', () => {
  it('default to trusting the NAS, a day of delay, a minute ahead and two seconds of skew', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual([c.radius.addressConflict, c.radius.maxAccountingDelaySeconds, c.radius.maxClockAheadSeconds, c.tracking.clockSkewSeconds], ['trust-nas', 86_400, 60, 2]);
  });

  it('are read from the environment and refused with their names', () => {
    const c = loadConfig({ env: { SIDEBAND_RADIUS_ADDRESS_CONFLICT: 'refuse', SIDEBAND_TRACKING_CLOCK_SKEW_SECONDS: '5' } });
    assert.deepEqual([c.radius.addressConflict, c.tracking.clockSkewSeconds], ['refuse', 5]);
    assert.throws(() => loadConfig({ env: { SIDEBAND_RADIUS_ADDRESS_CONFLICT: 'maybe' } }), (e: SidebandError) => e.code === 'CONFIG_INVALID' && /radius\.addressConflict must be one of "trust-nas", "refuse"/.test(e.message));
    assert.throws(() => loadConfig({ env: { SIDEBAND_TRACKING_CLOCK_SKEW_SECONDS: '600' } }), (e: SidebandError) => e.code === 'CONFIG_INVALID' && /tracking\.clockSkewSeconds/.test(e.message));
    assert.throws(() => loadConfig({ env: {}, overrides: { radius: { maxAccountingDelaySeconds: 10 } } }), (e: SidebandError) => /radius\.maxAccountingDelaySeconds/.test(e.message));
  });
});
