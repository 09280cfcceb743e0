// Signed merchant authorizations per second, with p50/p99 latency, at fixed concurrencies,
// against a gateway in its own process on loopback (SQLite, then PostgreSQL).
//   node --import tsx bench/authorizations/index.ts [seconds-per-level]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SidebandClient } from '../../sdk/src/index.ts';

const seconds = Number(process.argv[2] ?? 5);
const levels = [1, 8, 32, 64];

interface Setup { baseUrl: string; keyId: string; privateKey: string; addresses: string[] }

async function startGateway(dialect: string): Promise<{ setup: Setup; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/authorizations/gateway-process.ts', dialect], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SIDEBAND_TEST_LOG_DIR: '' } });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  return { setup: JSON.parse(line) as Setup, stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function level(client: SidebandClient, addresses: string[], concurrency: number): Promise<{ rps: number; p50: number; p99: number; n: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const until = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) {
      const address = addresses[i++ % addresses.length]!;
      const s = process.hrtime.bigint();
      try {
        const a = await client.authorizations.create({ customer: { address }, amount: 100, currency: 'EUR' });
        if (a.status !== 'approved') errors++;
      } catch {
        errors++;
      }
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), n: latencies.length, errors };
}

const rows: string[] = [];
for (const dialect of ['sqlite', 'postgres']) {
  const { setup, stop } = await startGateway(dialect);
  try {
    const client = new SidebandClient({ baseUrl: setup.baseUrl, keyId: setup.keyId, privateKey: setup.privateKey, maxRetries: 0 });
    await level(client, setup.addresses, 4); // warm-up
    for (const c of levels) {
      const r = await level(client, setup.addresses, c);
      const row = `${dialect.padEnd(9)} concurrency ${String(c).padStart(3)}  ${r.rps.toFixed(0).padStart(6)} auth/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (${r.n} requests, ${r.errors} not approved)`;
      console.log(row);
      rows.push(row);
    }
  } finally {
    await stop();
  }
}
console.log(`\nsigned authorizations (Ed25519 RFC 9421 + content-digest, idempotency key, resolution, destination check, atomic limit, ledger), ${seconds} s per level, gateway in its own process:\n${rows.join('\n')}`);
