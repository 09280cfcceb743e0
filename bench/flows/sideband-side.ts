import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CollectorUnderTest } from './collector-under-test.ts';
import { supervise } from './daemon.ts';

export interface SidebandSide {
  readonly collector: CollectorUnderTest;
  /** The subscribers' addresses, one open session each. */
  readonly addresses: readonly string[];
  readonly provisionSeconds: number;
}

interface Ready {
  ipfix: string;
  operatorHttp: string;
  addresses: string[];
  provisionSeconds: number;
}

const COUNTERS = ['sideband_flow_datagrams_total', 'sideband_flow_records_total', 'sideband_flows_attributed_total', 'sideband_flows_unattributed_total', 'sideband_flow_dropped_total'];

/** The flow counters of a Prometheus text exposition, by name and labels as written. */
function flowCounters(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value && COUNTERS.some((c) => key === c || key.startsWith(`${c}{`))) counters.set(key, Number(value));
  }
  return counters;
}

/**
 * Starts bench/flows/sideband-collector.ts in a process of its own, with `tmp` as its
 * TMPDIR so that its throwaway database lives where the driver cleans up; with
 * `cpuProfileDir`, V8 writes the collector's CPU profile there when it exits.
 */
export async function startSideband(subscribers: number, tmp: string, cpuProfileDir?: string): Promise<SidebandSide> {
  const script = new URL('./sideband-collector.ts', import.meta.url).pathname;
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, '--cpu-prof-interval=100'] : [];
  const child = spawn(process.execPath, [...profile, '--conditions=sideband-source', '--import', import.meta.resolve('tsx'), script, String(subscribers)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmp } });
  // The collector also stops when its stdin closes, which covers a driver killed outright.
  const collectorProcess = supervise(child, 'SIGTERM');
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    collectorProcess.exited.then((code) => Promise.reject(new Error(`sideband-collector.ts exited (${code}) before it was ready`))),
  ]);
  const ready = JSON.parse(first) as Ready;
  const metrics = async () => flowCounters(await (await fetch(`http://${ready.operatorHttp}/metrics`)).text());
  const before = await metrics();
  const collector: CollectorUnderTest = {
    name: 'Sideband',
    work: 'decode, find the exporter, resolve the source to the session whose binding held it, record (session, destination) in memory; changes to SQLite once a second, and the final write of every change once the replay is taken',
    receiver: {
      port: Number(ready.ipfix.split(':').pop()),
      pids: [child.pid!],
      async settle(datagrams) {
        const settled = new Promise<void>((resolve) => {
          const onLine = (line: string): void => {
            if (line !== 'settled') return;
            lines.off('line', onLine);
            resolve();
          };
          lines.on('line', onLine);
        });
        child.stdin!.write(`settle ${datagrams}\n`);
        await settled;
      },
    },
    async finish() {
      const after = await metrics();
      const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
      // Unattributed records are counted by reason: the sum over every label set.
      const total = (name: string) => [...after.keys()].filter((k) => k === name || k.startsWith(`${name}{`)).reduce((n, k) => n + delta(k), 0);
      const drops = [...after.keys()].filter((k) => k.startsWith('sideband_flow_dropped_total{') && delta(k) > 0).map((k) => `${/cause="([^"]+)"/.exec(k)?.[1]} ${delta(k)}`);
      const code = await collectorProcess.stop();
      return {
        records: delta('sideband_flow_records_total'),
        attributed: delta('sideband_flows_attributed_total'),
        detail: `exit ${code}, ${total('sideband_flows_unattributed_total').toLocaleString('en')} unattributed, drops: ${drops.join(', ') || 'none'}`,
      };
    },
  };
  return { collector, addresses: ready.addresses, provisionSeconds: ready.provisionSeconds };
}
