// What the soak reads off the gateway process: from the kernel, its resident memory
// (/proc/PID/status VmRSS) and open file descriptors (/proc/PID/fd); from its operator
// port's /metrics (prom-client's default metrics, prefixed sideband_), V8's heap in use
// and the event loop's delay. prom-client reads monitorEventLoopDelay (sampled every
// 10 ms) and resets it at each scrape, so each sample's p99 covers the time since the
// one before.
import { readdirSync, readFileSync } from 'node:fs';

export interface GatewaySample {
  /** ms since the soak's load started. */
  readonly at: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly openFds: number;
  /** p99 of the event loop's delay since the previous sample, in ms; includes the 10 ms sampling interval. */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /** Every counter and gauge of the exposition, by name with its labels as written. */
  readonly metrics: ReadonlyMap<string, number>;
}

/** The samples of a Prometheus text exposition, by `name{labels}`. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, space), value);
  }
  return out;
}

function residentBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export async function sampleGateway(pid: number, operatorHttp: string, at: number): Promise<GatewaySample> {
  const response = await fetch(`http://${operatorHttp}/metrics`);
  const metrics = parseExposition(await response.text());
  return {
    at,
    rssBytes: residentBytes(pid),
    heapUsedBytes: metrics.get('sideband_nodejs_heap_size_used_bytes') ?? NaN,
    openFds: readdirSync(`/proc/${pid}/fd`).length,
    eventLoopP99Ms: (metrics.get('sideband_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    eventLoopMaxMs: (metrics.get('sideband_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    metrics,
  };
}

/** The sum of every series of `name` whose labels contain `match` (all series when absent). */
export function metricSum(metrics: ReadonlyMap<string, number>, name: string, match?: string): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    if ((key === name || key.startsWith(`${name}{`)) && (match === undefined || key.includes(match))) sum += value;
  }
  return sum;
}
