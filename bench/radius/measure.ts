import { loadavg } from 'node:os';
import { commandCpuSeconds, cpuSeconds, machineBusySeconds } from './process-usage.ts';
import { runLoad, type LoadOptions, type LoadResult } from './radclient-load.ts';
import type { ServerUnderTest } from './server-under-test.ts';

export type Kind = 'Access-Request' | 'Accounting-Request Start' | 'Accounting-Request Stop';

/** One timed run of radclient against one server, with who used the CPU meanwhile. */
export interface Measurement extends LoadResult {
  server: string;
  kind: Kind;
  serverCpuSeconds: number;
  /** PostgreSQL's processes (its backends work for Sideband on PostgreSQL). */
  databaseCpuSeconds: number;
  /** Every core of the machine, busy, over the run (core-seconds). */
  machineBusySeconds: number;
}

export async function measure(server: ServerUnderTest, kind: Kind, load: Omit<LoadOptions, 'server' | 'command'>): Promise<Measurement> {
  const cpu0 = cpuSeconds(server.pid);
  const database0 = commandCpuSeconds('postgres');
  const busy0 = machineBusySeconds();
  const access = kind === 'Access-Request';
  const r = await runLoad({ ...load, server: access ? server.auth : server.acct, command: access ? 'auth' : 'acct' });
  return {
    ...r,
    server: server.name,
    kind,
    serverCpuSeconds: cpuSeconds(server.pid) - cpu0,
    databaseCpuSeconds: commandCpuSeconds('postgres') - database0,
    machineBusySeconds: machineBusySeconds() - busy0,
  };
}

const n = (v: number, digits = 0): string => v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const perSecond = (m: Measurement): number => m.accepted / m.seconds;

/**
 * One line per run: the rate, then how many cores each party kept busy on average (radclient
 * polls without sleeping while requests are outstanding, so it holds about one core at any
 * rate), and a warning under it for every answer that was not the one asked for.
 */
export function describe(m: Measurement, cores: number): string {
  const share = (cpu: number): string => n(cpu / m.seconds, 2);
  const others = Math.max(0, m.machineBusySeconds - m.serverCpuSeconds - m.clientCpuSeconds - m.databaseCpuSeconds);
  const database = m.databaseCpuSeconds / m.seconds > 0.05 ? ` postgres ${share(m.databaseCpuSeconds)},` : '';
  const lines = [
    `${m.server.padEnd(17)} ${m.kind.padEnd(25)} ${n(m.accepted).padStart(7)} answered in ${n(m.seconds, 2)} s = ${n(perSecond(m)).padStart(6)}/s;` +
      ` ${n(cpuPerRequest(m)).padStart(3)} µs server CPU/request; cores busy: server ${share(m.serverCpuSeconds)}, radclient ${share(m.clientCpuSeconds)},` +
      `${database} others ${share(others)} of ${cores}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  ];
  const warn = (text: string): number => lines.push(`${' '.repeat(18)}! ${text}`);
  if (others / m.seconds > 0.3) warn(`other processes kept ${share(others)} cores busy meanwhile: this rate is lower than on an idle machine`);
  if (m.accepted !== m.requests) warn(`${n(m.requests)} sent, ${n(m.accepted)} accepted, ${n(m.rejected)} rejected, ${n(m.lost)} lost`);
  if (m.skippedFiles > 0) warn(`stopped at the phase deadline with ${m.skippedFiles} request files unsent`);
  for (const f of m.failures.slice(0, 3)) warn(f);
  return lines.join('\n');
}

export const cpuPerRequest = (m: Measurement): number => (m.serverCpuSeconds / Math.max(1, m.accepted)) * 1e6;
