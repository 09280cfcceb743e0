// Whether the gateway's resources stayed flat under the soak: the samples after warm-up
// are cut in thirds, and the last third is compared with the first. Medians, so that one
// garbage collection or one slow moment in a sample does not decide it; the slope (least
// squares over all samples after warm-up) is reported beside, per minute.
import type { GatewaySample } from './gateway-sample.ts';

export interface Trend {
  readonly name: string;
  readonly first: number;
  readonly last: number;
  readonly slopePerMinute: number;
  readonly format: (v: number) => string;
  /** How "flat" is decided for this resource, for the report. */
  readonly rule: string;
  readonly flat: boolean;
  /** Reported beside the verdict but not part of it. */
  readonly informational?: boolean;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

export const MIN_SAMPLES = 6;

const mb = (v: number): string => `${(v / 1048576).toFixed(1)} MB`;
const ms = (v: number): string => `${v.toFixed(1)} ms`;
const count = (v: number): string => v.toFixed(0);

/** The trends of the samples taken after `warmupMs`; empty when there are too few to judge. */
export function judgeFlatness(samples: readonly GatewaySample[], warmupMs: number): Trend[] {
  const steady = samples.filter((s) => s.at >= warmupMs);
  if (steady.length < MIN_SAMPLES) return [];
  const third = Math.floor(steady.length / 3);
  const head = steady.slice(0, third);
  const tail = steady.slice(steady.length - third);
  const trend = (name: string, read: (s: GatewaySample) => number, format: (v: number) => string, rule: string, isFlat: (first: number, last: number) => boolean, informational = false): Trend => {
    const first = median(head.map(read));
    const last = median(tail.map(read));
    return { name, first, last, slopePerMinute: slope(steady.map((s) => ({ x: s.at / 60_000, y: read(s) }))), format, rule, flat: isFlat(first, last), ...(informational ? { informational } : {}) };
  };
  return [
    trend('RSS', (s) => s.rssBytes, mb, 'last third at most 10 % above the first', (f, l) => l <= f * 1.1),
    trend('open fds', (s) => s.openFds, count, 'last third at most 3 above the first', (f, l) => l <= f + 3),
    trend('event-loop delay p99', (s) => s.eventLoopP99Ms, ms, 'last third at most 1.5× the first, or 5 ms above it', (f, l) => l <= Math.max(f * 1.5, f + 5)),
    trend('heap used', (s) => s.heapUsedBytes, mb, 'last third at most 25 % above the first', (f, l) => l <= f * 1.25, true),
  ];
}
