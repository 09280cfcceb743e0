#!/usr/bin/env node
// The README's test line. It installs the real peers the tests drive when they are
// missing (Debian packages, as root), makes sure PostgreSQL answers, then runs every
// test/**/*.test.ts file with Node's test runner in two phases:
//   1. every behaviour test, with all they log collected in one directory;
//   2. test/never-in-clear/, which scans what phase 1 logged and printed for the card
//      numbers the suite used (they derive from SIDEBAND_TEST_SEED, so none is written down).
// Arguments narrow phase 1 to files whose path contains one of them.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build, isStale } from './build.js';
import { ensureDebianPeers } from './debian-peers.js';

const root = new URL('..', import.meta.url).pathname;

/** Debian package for each peer binary the suite runs. */
const peers = {
  radclient: 'freeradius-utils',
  softflowd: 'softflowd',
  tshark: 'tshark',
  kamailio: 'kamailio',
  sipp: 'sip-tester',
  nginx: 'nginx',
  chromium: 'chromium',
  radsecproxy: 'radsecproxy',
};

const missing = ensureDebianPeers(peers);
if (missing.length > 0) console.log(`# missing ${missing.join(', ')}: the tests that need them will be skipped`);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const all = collect(join(root, 'test')).map((f) => relative(root, f)).sort();
const isScan = (f) => f.startsWith('test/never-in-clear/');
const filters = process.argv.slice(2);
const phase1 = all.filter((f) => !isScan(f) && (filters.length === 0 || filters.some((x) => f.includes(x))));
const phase2 = all.filter(isScan);

const logDir = process.env.SIDEBAND_TEST_LOG_DIR ?? mkdtempSync(join(tmpdir(), 'sideband-test-logs-'));
mkdirSync(logDir, { recursive: true });
const env = {
  ...process.env,
  SIDEBAND_TEST: '1',
  SIDEBAND_TEST_LOG_DIR: logDir,
  SIDEBAND_TEST_SEED: process.env.SIDEBAND_TEST_SEED ?? randomBytes(8).toString('hex'),
};

// Tests wait on events; one that never comes (a webhook that is never queued, say) would
// hang the run until CI's own limit. A file still running after this long is cancelled and
// counted as failed. Whole files take at most a few minutes here; a longer fuzz hunt
// (SIDEBAND_FUZZ_SECONDS) runs unbounded, as does SIDEBAND_TEST_FILE_TIMEOUT_MS=0.
const fileTimeoutMs = Number(process.env.SIDEBAND_TEST_FILE_TIMEOUT_MS ?? (process.env.SIDEBAND_FUZZ_SECONDS ? 0 : 15 * 60_000));

// A test whose hook failed is reported `cancelled`, not `fail`: it failed all the same.
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };

function runPhase(files, transcript) {
  return new Promise((resolve) => {
    if (files.length === 0) return resolve(0);
    const child = spawn(process.execPath, ['--conditions=sideband-source', '--import', 'tsx', '--test', ...(fileTimeoutMs > 0 ? [`--test-timeout=${fileTimeoutMs}`] : []), '--test-reporter=tap', ...files], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = transcript ? createWriteStream(join(logDir, transcript)) : null;
    let tail = '';
    const relay = (stream, sink) => stream.on('data', (chunk) => {
      sink.write(chunk);
      out?.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    child.on('close', (code) => {
      for (const key of Object.keys(totals)) {
        const m = tail.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
        if (m) totals[key] += Number(m[1]);
      }
      out?.end();
      resolve(code ?? 1);
    });
  });
}

// Tests start `sideband` as an operator would: the compiled gateway (dist/), built when a
// source is newer than the last build.
if (isStale()) build();

const code1 = await runPhase(phase1, 'test-output.log');
const code2 = await runPhase(phase2, null);
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(code1 !== 0 ? code1 : code2);
