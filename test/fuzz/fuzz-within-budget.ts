import type { TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { redactCardNumbers } from '../../src/observability/redact.ts';

// Every fuzz target runs for a fixed time rather than a fixed number of runs, so that CI
// pays the same whatever the machine, and a long hunt is one variable away:
//   SIDEBAND_FUZZ_SECONDS=600 npm test -- fuzz
// SIDEBAND_FUZZ_SEED (and SIDEBAND_FUZZ_PATH, from a failure's report) replay a run.

const DEFAULT_SECONDS = 2.5;
// A run that has not returned after this long is taken for a hang (a loop that does not
// terminate on some input): the watchdog reports which run it was and ends the process,
// since synchronous code cannot be interrupted from its own thread.
const STALL_SECONDS = positiveNumber('SIDEBAND_FUZZ_STALL_SECONDS', 60)!;

function positiveNumber(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(raw)}`);
  return value;
}

/** Seconds each fuzz target runs for. */
export const fuzzSeconds = positiveNumber('SIDEBAND_FUZZ_SECONDS', DEFAULT_SECONDS)!;

const fixedSeed = (() => {
  const raw = process.env.SIDEBAND_FUZZ_SEED;
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw new Error(`SIDEBAND_FUZZ_SEED must be an integer, not ${JSON.stringify(raw)}`);
  return Number(raw) | 0;
})();
const replayPath = process.env.SIDEBAND_FUZZ_PATH;

/** A node:test `timeout` for a fuzz test: generous, so that only a hang trips it. */
export const fuzzTestTimeout = (fuzzSeconds * 3 + STALL_SECONDS) * 1000;

// Shared with the watchdog: [runs started, armed].
const progress = new Int32Array(new SharedArrayBuffer(8));
let watchdog: Worker | undefined;

function startWatchdog(): Worker {
  // Plain JavaScript, evaluated in a thread of its own whose event loop keeps turning
  // while a run blocks the main thread. It writes with fs.writeSync: a worker's
  // process.stderr goes through the (blocked) main thread.
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { writeSync } = require('node:fs');
    const progress = workerData.progress;
    let target = '', seed = 0, last = -1, still = 0;
    parentPort.on('message', (m) => { target = m.target; seed = m.seed; last = -1; still = 0; });
    setInterval(() => {
      if (Atomics.load(progress, 1) === 0) return;
      const runs = Atomics.load(progress, 0);
      still = runs === last ? still + 1 : 0;
      last = runs;
      if (still < workerData.stallSeconds) return;
      writeSync(2, '\\nfuzz target "' + target + '": run ' + runs + ' has not returned after ' + still + ' s; it looks like a hang.\\n' +
        'Replay it with SIDEBAND_FUZZ_SEED=' + seed + ' SIDEBAND_FUZZ_PATH=' + (runs - 1) + ' (exact unless it happened while shrinking).\\n');
      process.kill(process.pid, 'SIGABRT');
    }, 1000);
  `;
  const worker = new Worker(source, { eval: true, execArgv: [], workerData: { progress, stallSeconds: STALL_SECONDS } });
  worker.unref();
  return worker;
}

function arm(target: string, seed: number): void {
  watchdog ??= startWatchdog();
  watchdog.postMessage({ target, seed });
  Atomics.store(progress, 0, 0);
  Atomics.store(progress, 1, 1);
}

function disarm(): void {
  Atomics.store(progress, 1, 0);
}

function parameters<Ts>(seed: number): fc.Parameters<Ts> {
  return {
    seed,
    ...(replayPath === undefined ? {} : { path: replayPath }),
    // "Infinite" runs: the time limit ends the check.
    numRuns: replayPath === undefined ? 2 ** 31 - 1 : 1,
    plugins: [fc.interruptAfterTimeLimit(fuzzSeconds * 1000) as fc.Plugin<Ts>],
  };
}

function report<Ts>(t: TestContext, details: fc.RunDetails<Ts>, seconds: number): number {
  if (details.failed) {
    // A counterexample may hold digit runs that pass the Luhn check; none is printed.
    const error = details.errorInstance instanceof Error ? `\n${details.errorInstance.message}` : '';
    const message = redactCardNumbers(`${fc.defaultReportMessage(details) ?? 'failed'}${error}`);
    throw new Error(`${message}\nReplay: SIDEBAND_FUZZ_SEED=${details.seed} SIDEBAND_FUZZ_PATH=${details.counterexamplePath}`);
  }
  t.diagnostic(`${details.numRuns} runs in ${seconds.toFixed(1)} s (seed ${details.seed})`);
  return details.numRuns;
}

// fast-check seeds are 32-bit integers.
const newSeed = (): number => fixedSeed ?? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;

/** Counts a run for the watchdog; wrap every predicate in it. */
function counted<A extends unknown[], R>(predicate: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    Atomics.add(progress, 0, 1);
    return predicate(...args);
  };
}

/**
 * Checks `arbitrary` against `predicate` for SIDEBAND_FUZZ_SECONDS, reports the number
 * of runs with t.diagnostic and returns it; a failure throws fast-check's report with a
 * replay line. The predicate fails by throwing (node:assert).
 */
export function fuzzWithinBudget<T>(t: TestContext, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void): number {
  const seed = newSeed();
  const began = performance.now();
  arm(t.name, seed);
  try {
    const details = fc.check(fc.property(arbitrary, counted(predicate)), parameters<[T]>(seed));
    return report(t, details, (performance.now() - began) / 1000);
  } finally {
    disarm();
  }
}

/** {@link fuzzWithinBudget} for a predicate that returns a promise. */
export async function fuzzAsyncWithinBudget<T>(t: TestContext, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>): Promise<number> {
  const seed = newSeed();
  const began = performance.now();
  arm(t.name, seed);
  try {
    const details = await fc.check(fc.asyncProperty(arbitrary, counted(predicate)), parameters<[T]>(seed));
    return report(t, details, (performance.now() - began) / 1000);
  } finally {
    disarm();
  }
}

/**
 * Counts how far inputs got (decoded, rejected by cause, round-tripped…), so that the
 * diagnostics show whether a generator reaches past the first checks.
 */
export class Reached {
  readonly #counts = new Map<string, number>();

  hit(label: string): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + 1);
  }

  count(label: string): number {
    return this.#counts.get(label) ?? 0;
  }

  diagnose(t: TestContext): void {
    const all = [...this.#counts].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`);
    t.diagnostic(`reached: ${all.join(', ') || 'nothing'}`);
  }
}
