import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';

const file = (content: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'sideband-config-')), 'sideband.json');
  writeFileSync(path, content);
  return path;
};

describe('configuration', () => {
  it('has working defaults and is frozen', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.listen.radiusAuth, 1812);
    assert.equal(c.listen.radiusAcct, 1813);
    assert.equal(c.databaseUrl, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.listen));
  });

  it('layers file, then SIDEBAND_* variables, then overrides', () => {
    const path = file(JSON.stringify({ listen: { radiusAuth: 11812 }, logLevel: 'debug' }));
    const c = loadConfig({ file: path, env: { SIDEBAND_LOG_LEVEL: 'warn', SIDEBAND_RADIUS_ACCT_PORT: '11813' }, overrides: { dataDir: '/tmp/x' } });
    assert.equal(c.listen.radiusAuth, 11812);
    assert.equal(c.listen.radiusAcct, 11813);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.dataDir, '/tmp/x');
  });

  it('names the bad setting and what it accepts', () => {
    assert.throws(() => loadConfig({ env: { SIDEBAND_LOG_LEVEL: 'loud' } }), (e: SidebandError) => e.code === 'CONFIG_INVALID' && /logLevel must be one of/.test(e.message));
    assert.throws(() => loadConfig({ env: { SIDEBAND_RADIUS_AUTH_PORT: 'x' } }), (e: SidebandError) => e.code === 'CONFIG_INVALID' && /SIDEBAND_RADIUS_AUTH_PORT/.test(e.message));
    assert.throws(() => loadConfig({ file: file('{"listen":{"radiusAuth":70000}}'), env: {} }), (e: SidebandError) => /listen\.radiusAuth/.test(e.message));
    assert.throws(() => loadConfig({ file: file('{"listen":{"radiusAuht":1}}'), env: {} }), (e: SidebandError) => /unknown setting listen\.radiusAuht/.test(e.message));
    assert.throws(() => loadConfig({ env: { SIDEBAND_DATABASE_URL: 'mysql://x' } }), (e: SidebandError) => /databaseUrl/.test(e.message));
  });

  it('a renamed setting points to its replacement; unreadable files are named', () => {
    assert.throws(() => loadConfig({ file: file('{"database":"postgres://x"}'), env: {} }), (e: SidebandError) => e.code === 'CONFIG_RENAMED' && /databaseUrl/.test(e.message));
    assert.throws(() => loadConfig({ file: file('{not json'), env: {} }), (e: SidebandError) => e.code === 'CONFIG_FILE_UNREADABLE');
    assert.throws(() => loadConfig({ file: '/nonexistent/sideband.json', env: {} }), (e: SidebandError) => e.code === 'CONFIG_FILE_UNREADABLE' && e.message.includes('/nonexistent/sideband.json'));
  });
});
