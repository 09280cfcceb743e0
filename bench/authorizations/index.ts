// Signed merchant authorizations per second, with p50/p99 latency, at fixed concurrencies,
// against a gateway in its own process on loopback (SQLite, then PostgreSQL).
//   node -C sideband-source --import tsx bench/authorizations/index.ts [seconds-per-level] [--cpu-prof DIR]
//
// Only successes count in the throughput and the latencies: a 201 whose authorization is
// `approved`, as a manual-capture purchase asks. Declines (a 201 with another status) are
// reported apart by reason, and errors (any other answer, or no answer) by their code, so
// a gateway that fails fast can never look faster than one that works.
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { commandCpuSeconds, cpuSeconds } from '../radius/process-usage.ts';
import { createInterface } from 'node:readline';
import { SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const args = process.argv.slice(2);
const profileAt = args.indexOf('--cpu-prof');
/** `--cpu-prof DIR`: a V8 CPU profile of each gateway process (one per database) is written there. */
const cpuProfileDir = profileAt >= 0 ? args.splice(profileAt, 2)[1] : undefined;
const seconds = Number(args[0] ?? 5);
const levels = [1, 8, 32, 64];

interface Setup { baseUrl: string; keyId: string; privateKey: string; addresses: string[] }

async function startGateway(dialect: string): Promise<{ setup: Setup; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--conditions=sideband-source', '--import', 'tsx', ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []), 'bench/authorizations/gateway-process.ts', dialect], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SIDEBAND_TEST_LOG_DIR: '' } });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  return { setup: JSON.parse(line) as Setup, pid: child.pid!, stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** What one level produced: latencies of successes only; the rest counted by why. */
interface Level {
  requests: number;
  successes: number;
  rps: number;
  p50: number;
  p99: number;
  declines: Map<string, number>;
  errors: Map<string, number>;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** An error's code: the API's (with its HTTP status), else what failed underneath (ECONNRESET, TimeoutError…). */
function errorCode(e: unknown): string {
  if (e instanceof SidebandApiError) return `${e.status} ${e.code}`;
  const err = e as { name?: string; cause?: { code?: string; name?: string } };
  return `network ${err.cause?.code ?? err.cause?.name ?? err.name ?? 'error'}`;
}

async function level(client: SidebandClient, addresses: string[], concurrency: number): Promise<Level> {
  const latencies: number[] = [];
  const declines = new Map<string, number>();
  const errors = new Map<string, number>();
  let requests = 0;
  let i = 0;
  const until = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) {
      const address = addresses[i++ % addresses.length]!;
      const s = process.hrtime.bigint();
      requests++;
      try {
        // The SDK resolves only on a 2xx; a new authorization is a 201.
        const a = await client.authorizations.create({ customer: { address }, amount: 100, currency: 'EUR', capture: 'manual' });
        if (a.status === 'approved') latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
        else bump(declines, `${a.status} ${a.reason ?? ''}`.trim());
      } catch (e) {
        bump(errors, errorCode(e));
      }
    }
  }));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return { requests, successes: latencies.length, rps: latencies.length / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99), declines, errors };
}

const counted = (m: Map<string, number>): string => (m.size === 0 ? 'none' : [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', '));

const rows: string[] = [];
for (const dialect of ['sqlite', 'postgres']) {
  const { setup, pid, stop } = await startGateway(dialect);
  try {
    const client = new SidebandClient({ baseUrl: setup.baseUrl, keyId: setup.keyId, privateKey: setup.privateKey, maxRetries: 0 });
    await level(client, setup.addresses, 4); // warm-up
    for (const c of levels) {
      const load = loadavg()[0]!;
      const cpuBefore = cpuSeconds(pid);
      const pgBefore = dialect === 'postgres' ? commandCpuSeconds('postgres') : 0;
      const clientBefore = process.cpuUsage();
      const r = await level(client, setup.addresses, c);
      // CPU per approval, steadier than the rate on a shared machine: the gateway's, the
      // PostgreSQL server's, and this load generator's (signing and HTTP), which shares the cores.
      const per = (seconds: number) => ((seconds * 1000) / Math.max(1, r.successes)).toFixed(2);
      const clientUsed = process.cpuUsage(clientBefore);
      const cpu = `CPU ms/approval: gateway ${per(cpuSeconds(pid) - cpuBefore)}${dialect === 'postgres' ? `, postgres ${per(commandCpuSeconds('postgres') - pgBefore)}` : ''}, client ${per((clientUsed.user + clientUsed.system) / 1e6)}`;
      const row = `${dialect.padEnd(9)} concurrency ${String(c).padStart(3)}  ${r.rps.toFixed(0).padStart(6)} approved/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ${cpu}  load ${load.toFixed(1)}  (${r.requests} requests: ${r.successes} approved; declined: ${counted(r.declines)}; errors: ${counted(r.errors)})`;
      console.log(row);
      rows.push(row);
    }
  } finally {
    await stop();
  }
}
console.log(`\nsigned authorizations (Ed25519 RFC 9421 + content-digest + idempotency-key, resolution, presence and destination checks, atomic limit, ledger), ${seconds} s per level, gateway in its own process; throughput and latency of approvals only; ${availableParallelism()} cores, load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}:\n${rows.join('\n')}`);
