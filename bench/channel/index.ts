// Secure-channel exchanges per second, and the time from negotiation (the merchant's
// POST /v1/channel/exchanges) to the first item delivered (the card at the merchant's
// acquirer hook), through the built-in exchange and through Kamailio, on SQLite and on
// PostgreSQL, in one run. The merchant runs in a process of its own (merchant-process.ts),
// as a shop runs beside a provider and not inside its gateway; both timings are taken
// there. Latencies count successful exchanges only, each matched to its own card by the
// exchange id; failures are reported with their causes. Each row also prints the CPU the
// gateway's process and the merchant's spent per exchange. Each gateway first serves a
// few exchanges that are not counted (its warm-up, printed apart).
//   node -C sideband-source --import tsx bench/channel/index.ts [exchanges-per-row] [only-rows-matching] [--cpu-prof DIR]
// --cpu-prof writes a V8 CPU profile of the gateway's process (this one) over each row's
// measured exchanges to DIR, one file a row, and one of each merchant process's whole life.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { cpuUsage } from 'node:process';
import { fileURLToPath } from 'node:url';
import { PROVIDER, SHOP, EAVESDROPPER, channelAuthorization, channelGateway } from '../../test/support/channel-world.ts';
import type { MerchantSetup } from '../../test/support/merchant-harness.ts';
import { testCardNumber } from '../../test/support/test-cards.ts';
import type { TestDialect } from '../../test/support/databases.ts';
import { ensureDebianPeers } from '../../scripts/debian-peers.js';
import { answerHelp } from '../usage.ts';
import type { MerchantRun, MerchantStart } from './merchant-process.ts';

answerHelp(import.meta.url);

// Before test/support/kamailio.ts looks for the binary.
ensureDebianPeers({ kamailio: 'kamailio' });
const { haveKamailio, startKamailio } = await import('../../test/support/kamailio.ts');
type RunningKamailio = import('../../test/support/kamailio.ts').RunningKamailio;

// A gateway's first exchanges run its code before V8 has compiled it (the first took
// 20–31 ms where the rest took 8–13): each gateway serves this many, not counted, before
// its rows, as a provider's gateway has served many by the time a shopper pays.
const WARM_UP = 10;
// Each authorization is a new shopper with an address from the gateway's /24 pool (253
// addresses), and the warm-up and the two concurrency rows share a gateway.
const MAX_PER_ROW = Math.floor((253 - WARM_UP) / 2);
const { values: options, positionals } = parseArgs({ options: { 'cpu-prof': { type: 'string' } }, allowPositionals: true });
const cpuProfileDir = options['cpu-prof'] === undefined ? undefined : resolve(options['cpu-prof']);
if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
const total = Number(positionals[0] ?? 100);
if (!Number.isInteger(total) || total < 1 || total > MAX_PER_ROW) {
  console.error(`bench/channel: exchanges-per-row must be a whole number from 1 to ${MAX_PER_ROW}, not "${positionals[0]}" (each exchange is a new shopper from a /24 pool that two rows share); see --help.`);
  process.exit(64);
}
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const only = positionals[1];
const wanted = (label: string): boolean => only === undefined || label.includes(only);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/** The merchant's process, and one request to it answered by the reply whose key is `answer`. */
class Merchant {
  private constructor(private readonly child: ChildProcess) {}

  static async start(m: MerchantSetup, registrar: string): Promise<{ merchant: Merchant; url: string; fingerprint: string }> {
    const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, '--cpu-prof-interval=100'] : [];
    const child = fork(fileURLToPath(new URL('./merchant-process.ts', import.meta.url)), [], { execArgv: [...profile, '--conditions=sideband-source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const merchant = new Merchant(child);
    const start: MerchantStart = {
      merchantHttp: m.t.gateway.listen.merchantHttp!, keyId: m.keyId, privateKeyPem: m.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), registrar,
      line: { username: SHOP.username, password: SHOP.password, lineNumber: SHOP.lineNumber, numbers: SHOP.numbers },
    };
    try {
      const { url, fingerprint } = await merchant.ask<{ url: string; fingerprint: string }>({ start }, 'started', 30_000);
      return { merchant, url, fingerprint };
    } catch (e) {
      child.kill();
      throw e;
    }
  }

  /** Sends `message` and waits, at most `timeoutMs`, for the reply carrying `answer`. */
  ask<T>(message: object, answer: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.child.off('exit', exited);
        this.child.off('message', replied);
      };
      const exited = (code: number | null) => {
        done();
        reject(new Error(`the merchant's process exited (${code})`));
      };
      const replied = (reply: Record<string, unknown>) => {
        done();
        if (answer in reply) resolve(reply[answer] as T);
        else reject(new Error(`the merchant's process: ${String(reply.error ?? JSON.stringify(reply))}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the merchant's process did not answer ${Object.keys(message)[0]} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.child.once('exit', exited);
      this.child.once('message', replied);
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    await this.ask({ stop: true }, 'stopped', 10_000).catch(() => this.child.kill());
    await exited;
  }
}

interface Row {
  m: MerchantSetup;
  merchant: Merchant;
  name: string;
  pan: string;
  shoppers: number;
}

async function drainWebhooks(m: MerchantSetup): Promise<void> {
  const db = m.t.gateway.context.store.db;
  for (let i = 0; i < 100; i++) {
    await m.t.gateway.certification.deliverWebhooks();
    const left = await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    if (Number(left.n) === 0) return;
  }
}

async function authorizations(w: Row, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await channelAuthorization(w.m, `${w.name}-buyer-${w.shoppers++}`, w.pan));
  // Their webhooks are delivered now, not during the measurement: each delivery's commit
  // would stall the gateway's event loop.
  await drainWebhooks(w.m);
  return ids;
}

/** The warm-up's exchanges, one at a time; a failure among them stops the bench. */
async function warmUp(label: string, w: Row): Promise<string> {
  const r = await w.merchant.ask<MerchantRun>({ run: { authorizations: await authorizations(w, WARM_UP), concurrency: 1 } }, 'ran', 600_000);
  if (r.failures.length) throw new Error(`${label}: the warm-up's exchanges failed: ${r.failures.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  return `${label.padEnd(30)} warm-up        ${WARM_UP} exchanges, not counted: first item ${r.firstItem.map((v) => v.toFixed(1)).join(', ')} ms`;
}

async function run(label: string, w: Row, concurrency: number): Promise<string> {
  const authorizationIds = await authorizations(w, total);
  const profiler = cpuProfileDir ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
  }
  const loadBefore = load();
  const gatewayCpu = cpuUsage();
  // Each exchange gives up after 3 s (merchant-process.ts): a row of 100 ends well within this.
  const r = await w.merchant.ask<MerchantRun>({ run: { authorizations: authorizationIds, concurrency } }, 'ran', 600_000);
  const used = cpuUsage(gatewayCpu);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    writeFileSync(join(cpuProfileDir!, `${label.replace(/[^a-z0-9]+/gi, '-')}-c${concurrency}.cpuprofile`), JSON.stringify(profile));
  }
  const firstItem = r.firstItem.sort((a, b) => a - b);
  const whole = r.whole.sort((a, b) => a - b);
  const ok = firstItem.length;
  const cpuPer = (seconds: number) => ok ? (seconds * 1000 / ok).toFixed(1) : '—';
  const failedText = r.failures.length ? `, failed: ${r.failures.map(([c, n]) => `${c} ${n}`).join(', ')}` : '';
  return `${label.padEnd(30)} concurrency ${concurrency}  ${(ok / r.seconds).toFixed(1).padStart(5)} exchanges/s  negotiation→first item p50 ${pct(firstItem, 50).toFixed(1).padStart(5)} ms p99 ${pct(firstItem, 99).toFixed(1).padStart(5)} ms max ${pct(firstItem, 100).toFixed(1).padStart(5)} ms  whole exchange p50 ${pct(whole, 50).toFixed(1).padStart(5)} ms  CPU per exchange: gateway ${cpuPer((used.user + used.system) / 1e6)} ms, merchant ${cpuPer(r.cpuSeconds)} ms  (${ok} of ${total} ok${failedText}; load ${loadBefore} → ${load()})`;
}

/** A gateway on `dialect` calling through `kamailio` (the built-in exchange when undefined), the merchant's process beside it, and two rows. */
async function rows(label: string, dialect: TestDialect, kamailio?: RunningKamailio): Promise<string[]> {
  const name = `bench-channel-${kamailio ? 'kamailio' : 'builtin'}-${dialect}`;
  const { m, registrar } = await channelGateway(name, kamailio, dialect);
  let merchant: Merchant | undefined;
  try {
    const started = await Merchant.start(m, registrar);
    merchant = started.merchant;
    await m.t.gateway.context.merchants.setChannel(m.merchantId, { url: started.url, lineNumber: SHOP.lineNumber, fingerprint: started.fingerprint });
    const w: Row = { m, merchant, name, pan: testCardNumber(50), shoppers: 0 };
    // Concurrency is bounded by the merchant's pool: two numbers.
    return [await warmUp(label, w), await run(label, w, 1), await run(label, w, 2)];
  } finally {
    await merchant?.stop();
    await m.dispose();
  }
}

const out: string[] = [];
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  if (!wanted(`built-in exchange, ${dialect}`)) continue;
  out.push(...await rows(`built-in exchange, ${dialect}`, dialect));
}
if (!wanted('Kamailio, sqlite') && !wanted('Kamailio, postgres')) {
  // not asked for
} else if (haveKamailio) {
  let k: RunningKamailio | undefined;
  try {
    k = await startKamailio([
      { username: PROVIDER.username, password: PROVIDER.password, numbers: [PROVIDER.lineNumber, ...PROVIDER.numbers] },
      { username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] },
      { username: EAVESDROPPER.username, password: EAVESDROPPER.password, numbers: EAVESDROPPER.numbers },
    ], 'bench-channel-kamailio');
    for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
      if (!wanted(`Kamailio, ${dialect}`)) continue;
      out.push(...await rows(`Kamailio, ${dialect}`, dialect, k));
    }
  } finally {
    await k?.stop();
  }
} else {
  out.push('Kamailio                       not installed (apt-get install kamailio)');
}
console.log(`\nsecure channel: fig. 4 exchanges (negotiate, reserve, SIP call, TLS 1.3 media, card one way, goods back, BYE), loopback, the merchant in its own process, ${total} per row; ${availableParallelism()} cores, load average now ${load()}:\n${out.join('\n')}`);
