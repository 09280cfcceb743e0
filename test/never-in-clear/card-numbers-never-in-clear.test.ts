import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_TEST_CARD } from '../../src/gateway/demo-data.ts';
import { allTestCardNumbers } from '../support/test-cards.ts';

/**
 * Runs after every other test (scripts/run-tests.js, phase 2): scans all the suite logged
 * and printed — gateway logs, CLI transcripts, spawned gateways' output and the test
 * runner's own output — for any card number the suite used.
 */
describe('card numbers never in clear', () => {
  const dir = process.env.SIDEBAND_TEST_LOG_DIR;

  it('appear in no log line, command output or test output of this run', (t) => {
    if (!dir) return t.skip('SIDEBAND_TEST_LOG_DIR unset: run through `npm test`');
    const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile());
    assert.ok(files.length > 0, 'the suite logged nothing: the scan would prove nothing');
    const numbers = [...allTestCardNumbers(), DEMO_TEST_CARD];
    const spaced = numbers.map((n) => n.replace(/(\d{4})(?=\d)/g, '$1 '));
    let bytes = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'latin1');
      bytes += text.length;
      for (const [i, n] of numbers.entries()) {
        // Report which number and file, never the number itself.
        assert.ok(!text.includes(n) && !text.includes(spaced[i]!), `test card #${i} (…${n.slice(-4)}) found in clear in ${f}`);
      }
    }
    t.diagnostic(`scanned ${files.length} files, ${bytes} bytes, for ${numbers.length} card numbers`);
  });

  it('every log line the suite wrote is JSON (redaction works on values, never on the line)', (t) => {
    if (!dir) return t.skip('SIDEBAND_TEST_LOG_DIR unset: run through `npm test`');
    let lines = 0;
    for (const f of readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile())) {
      for (const [i, line] of readFileSync(join(dir, f), 'utf8').split('\n').entries()) {
        // Log lines among other output (a spawned gateway's stdout, the runner's transcript).
        if (!line.startsWith('{"level"')) continue;
        lines++;
        assert.doesNotThrow(() => JSON.parse(line), `${f} line ${i + 1} is not JSON`);
      }
    }
    assert.ok(lines > 0, 'no log line found: the check would prove nothing');
    t.diagnostic(`${lines} log lines parsed`);
  });
});
