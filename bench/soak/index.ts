// The soak: mixed load against one gateway process for a long while, watching whether its
// memory, file descriptors and event-loop delay stay flat. See README.md beside this file.
//   node -C sideband-source --import tsx bench/soak/index.ts [--minutes 10] [--sample-seconds 10] [--report-seconds 30]
//        [--warmup-seconds N] [--radius-rate 40] [--flow-rate 100] [--authorization-rate 10]
//        [--subscribers 100] [--shoppers 20] [--interims 3] [--no-channel]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { killChildren, supervise, type Supervised } from '../flows/daemon.ts';
import { FlowStream } from './flow-stream.ts';
import { judgeFlatness, MIN_SAMPLES, type Trend } from './flatness.ts';
import { metricSum, sampleGateway, type GatewaySample } from './gateway-sample.ts';
import { MerchantLoad } from './merchant-load.ts';
import { RadiusSessions } from './radius-sessions.ts';
import type { Ready } from './soak-gateway.ts';
import { Tally } from './tally.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
    'report-seconds': { type: 'string', default: '30' },
    'warmup-seconds': { type: 'string' },
    'radius-rate': { type: 'string', default: '40' },
    'flow-rate': { type: 'string', default: '100' },
    'authorization-rate': { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '100' },
    shoppers: { type: 'string', default: '20' },
    interims: { type: 'string', default: '3' },
    'no-channel': { type: 'boolean', default: false },
  },
});
const number = (name: keyof typeof args, min: number): number => {
  const value = Number(args[name]);
  if (!(value >= min)) {
    console.error(`--${name} must be a number of at least ${min}, not ${JSON.stringify(args[name])}`);
    process.exit(2);
  }
  return value;
};
const MINUTES = number('minutes', 0.1);
const SAMPLE_MS = number('sample-seconds', 1) * 1000;
const REPORT_MS = Math.max(SAMPLE_MS, number('report-seconds', 1) * 1000);
// Warm-up: JIT, V8's heap and the SQLite page cache reach their working size.
const WARMUP_MS = args['warmup-seconds'] === undefined ? Math.min(60_000, MINUTES * 60_000 * 0.2) : number('warmup-seconds', 0) * 1000;
const RUN_MS = MINUTES * 60_000;

const work = mkdtempSync(join(tmpdir(), 'sideband-soak-'));
const gatewayLog = join(work, 'gateway.log');
const tally = new Tally();
let gateway: Supervised | null = null;
let radius: RadiusSessions | null = null;
let flows: FlowStream | null = null;
let merchant: MerchantLoad | null = null;
let cleaned: Promise<void> | null = null;

const cleanUp = (): Promise<void> =>
  (cleaned ??= (async () => {
    flows?.stop();
    await Promise.allSettled([radius?.stop(), merchant?.stop()]);
    await gateway?.stop();
    rmSync(work, { recursive: true, force: true });
  })());
const abort = (why: string): void => {
  console.error(`\nsoak stopped: ${why}`);
  void cleanUp().finally(() => process.exit(1));
};
process.once('SIGINT', () => abort('interrupted'));
process.once('SIGTERM', () => abort('terminated'));
process.once('exit', () => killChildren());
setTimeout(() => abort(`still running ${RUN_MS / 60_000 + 3} minutes after it began`), RUN_MS + 180_000).unref();

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const clock = (ms: number): string => `${String(Math.floor(ms / 60_000)).padStart(2, '0')}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
const isProblem = (label: string): boolean => /error|timeout|fail|reject|bad|late|undecodable|declined/.test(label);
const sum = (m: ReadonlyMap<string, number>, prefix: string, problems: boolean): number => [...m].filter(([l]) => l.startsWith(prefix) && isProblem(l) === problems).reduce((n, [, v]) => n + v, 0);

/** Requests of each kind since the last report, and how many of them went wrong. */
function loadLine(delta: ReadonlyMap<string, number>): string {
  const kinds: [string, string][] = [['radius', 'radius'], ['authorizations', 'authorization'], ['captures/refunds', 'capture|refund'], ['channel exchanges', 'channel exchange'], ['flow messages', 'flows']];
  return kinds.map(([name, prefixes]) => {
    const ok = prefixes.split('|').reduce((n, p) => n + sum(delta, p, false), 0);
    const bad = prefixes.split('|').reduce((n, p) => n + sum(delta, p, true), 0);
    return `${name} ${ok}${bad > 0 ? ` (+${bad} failed)` : ''}`;
  }).join(', ');
}

/** What the gateway itself counted since the previous report, from its /metrics. */
function gatewayLine(now: GatewaySample, before: GatewaySample | undefined): string {
  const d = (name: string, match?: string) => metricSum(now.metrics, name, match) - (before ? metricSum(before.metrics, name, match) : 0);
  const http5xx = d('sideband_merchant_requests_total', 'status="5');
  return [
    `radius answered ${d('sideband_radius_requests_total')}, dropped ${d('sideband_radius_dropped_total')}`,
    `flow records ${d('sideband_flow_records_total')} (attributed ${d('sideband_flows_attributed_total')})`,
    `merchant API ${d('sideband_merchant_requests_total')}${http5xx > 0 ? ` (${http5xx} 5xx)` : ''}`,
  ].join(', ');
}

/** The latest sample's RSS, heap and fds; the event loop over every sample since the last row. */
function row(s: GatewaySample, since: readonly GatewaySample[]): string {
  const p99s = since.map((x) => x.eventLoopP99Ms).sort((a, b) => a - b);
  const median = p99s[Math.floor((p99s.length - 1) / 2)]!;
  const worst = p99s.at(-1)!;
  const max = Math.max(...since.map((x) => x.eventLoopMaxMs));
  return `${clock(s.at)}  RSS ${mb(s.rssBytes).padStart(9)}  heap ${mb(s.heapUsedBytes).padStart(9)}  fds ${String(s.openFds).padStart(4)}  loop p99 ${median.toFixed(1).padStart(5)} ms (worst ${SAMPLE_MS / 1000} s: ${worst.toFixed(0)} ms, longest delay ${max.toFixed(0)} ms)`;
}

/** Warnings and errors the gateway logged, by level and message. */
function logSummary(): string[] {
  if (!existsSync(gatewayLog)) return ['none'];
  const counts = new Map<string, number>();
  for (const line of readFileSync(gatewayLog, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      const key = `${entry.level ?? '?'}: ${entry.msg ?? '?'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      counts.set('unparsable line', (counts.get('unparsable line') ?? 0) + 1);
    }
  }
  return counts.size === 0 ? ['none'] : [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`);
}

function verdictLines(trends: readonly Trend[]): string[] {
  if (trends.length === 0) return [`too short to judge: fewer than ${MIN_SAMPLES} samples after the warm-up`];
  return trends.map((t) => {
    const slope = `${t.slopePerMinute >= 0 ? '+' : '-'}${t.format(Math.abs(t.slopePerMinute))}/min`;
    const verdict = t.informational ? (t.flat ? 'flat (not judged)' : 'growing (not judged)') : t.flat ? 'FLAT' : 'NOT FLAT';
    return `${t.name.padEnd(21)} first third ${t.format(t.first).padStart(9)}   last third ${t.format(t.last).padStart(9)}   slope ${slope.padStart(13)}   ${verdict.padEnd(20)} (${t.rule})`;
  });
}

async function main(): Promise<number> {
  const script = new URL('./soak-gateway.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--conditions=sideband-source', '--import', import.meta.resolve('tsx'), script, args.subscribers!, args.shoppers!], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, TMPDIR: work, SIDEBAND_SOAK_LOG: gatewayLog, SIDEBAND_TEST_LOG_DIR: '' },
  });
  gateway = supervise(child, 'SIGTERM');
  let gatewayGone = false;
  void gateway.exited.then(() => (gatewayGone = true));
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () => Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    gateway!.exited.then((code) => Promise.reject(new Error(`the gateway process exited (${code}) before it was ready`))),
  ]);
  const ready = JSON.parse(await nextLine()) as Ready;
  console.log(`gateway pid ${ready.pid}, provisioned in ${ready.provisionSeconds.toFixed(1)} s: ${ready.subscribers.length} RADIUS subscribers, ${ready.shoppers.length} shoppers; listening ${Object.entries(ready.listen).map(([k, v]) => `${k} ${v}`).join(', ')}`);

  merchant = new MerchantLoad({
    merchantHttp: ready.listen.merchantHttp!, exchangeUdp: ready.listen.exchangeUdp!, keyId: ready.merchant.keyId, privateKeyPem: ready.merchant.privateKeyPem,
    shoppers: ready.shoppers, rate: number('authorization-rate', 0), channel: !args['no-channel'], tally,
  });
  if (!args['no-channel']) {
    child.stdin!.write(`${JSON.stringify(await merchant.startChannel())}\n`);
    if ((await nextLine()) !== 'registered') throw new Error('the gateway did not register the merchant channel');
  }
  radius = new RadiusSessions({ auth: ready.listen.radiusAuth!, acct: ready.listen.radiusAcct!, nasAddress: ready.nas.address, secret: ready.nas.secret, subscribers: ready.subscribers, rate: number('radius-rate', 0), interimsPerSession: number('interims', 0), tally });
  flows = new FlowStream({ ipfix: ready.listen.ipfix!, exporterAddress: '127.0.0.1', subscribers: ready.shoppers, rate: number('flow-rate', 0), tally });

  console.log(`load: RADIUS ${args['radius-rate']}/s (log-in, Start, ${args.interims} Interim, Stop), IPFIX ${args['flow-rate']} messages/s of 24 records, signed authorizations ${args['authorization-rate']}/s (half captured, an eighth refunded)${args['no-channel'] ? '' : ', secure-channel exchanges one at a time'}`);
  console.log(`running ${MINUTES} min, a sample every ${SAMPLE_MS / 1000} s, reports every ${REPORT_MS / 1000} s, warm-up ${(WARMUP_MS / 1000).toFixed(0)} s\n`);

  const t0 = Date.now();
  await Promise.all([radius.start(), flows.start()]);
  merchant.start();

  const samples: GatewaySample[] = [];
  let reported: GatewaySample | undefined;
  let lastReportAt = 0;
  for (let next = SAMPLE_MS; next <= RUN_MS; next += SAMPLE_MS) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + next - Date.now())));
    if (gatewayGone) throw new Error('the gateway process exited during the soak');
    const s = await sampleGateway(ready.pid, ready.listen.operatorHttp!, Date.now() - t0);
    samples.push(s);
    if (s.at - lastReportAt >= REPORT_MS - SAMPLE_MS / 2 || next + SAMPLE_MS > RUN_MS) {
      console.log(row(s, samples.filter((x) => x.at > lastReportAt)));
      console.log(`        load: ${loadLine(tally.sinceLastReport())}`);
      console.log(`        gateway: ${gatewayLine(s, reported)}`);
      reported = s;
      lastReportAt = s.at;
    }
  }

  flows.stop();
  await radius.stop();
  await merchant.stop();
  flows = null;
  radius = null;
  merchant = null;

  const steady = samples.filter((s) => s.at >= WARMUP_MS);
  const start = steady[0] ?? samples[0]!;
  const end = samples.at(-1)!;
  const trends = judgeFlatness(samples, WARMUP_MS);
  console.log(`\ntotals over ${MINUTES} min (load side):`);
  for (const [label, n] of [...tally.totals()].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`  ${label.padEnd(44)} ${n}`);
  console.log(`gateway: ${gatewayLine(end, undefined)}`);
  console.log(`gateway log (warn and above): ${logSummary().slice(0, 8).join('; ')}`);
  console.log(`\nstart (first sample after the ${(WARMUP_MS / 1000).toFixed(0)} s warm-up, at ${clock(start.at)}) and end (${clock(end.at)}):`);
  console.log(`  RSS ${mb(start.rssBytes)} → ${mb(end.rssBytes)}   heap used ${mb(start.heapUsedBytes)} → ${mb(end.heapUsedBytes)}   open fds ${start.openFds} → ${end.openFds}   event-loop delay p99 ${start.eventLoopP99Ms.toFixed(1)} ms → ${end.eventLoopP99Ms.toFixed(1)} ms`);
  console.log(`\nflat? (last third of the samples after warm-up against the first third; event-loop p99 includes prom-client's 10 ms sampling interval)`);
  for (const line of verdictLines(trends)) console.log(`  ${line}`);
  const judged = trends.filter((t) => !t.informational);
  const flat = judged.length > 0 && judged.every((t) => t.flat);
  console.log(`\nverdict: ${judged.length === 0 ? 'not judged (run longer)' : flat ? 'flat: RSS, open fds and event-loop delay held steady' : `not flat: ${judged.filter((t) => !t.flat).map((t) => t.name).join(', ')}`}`);
  return judged.length === 0 || flat ? 0 : 3;
}

main().then(
  async (code) => {
    await cleanUp();
    process.exit(code);
  },
  (e: unknown) => abort(e instanceof Error ? e.message : String(e)),
);
