import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SECRET } from './bench-data.ts';
import type { SidebandReady, SidebandRecords } from './sideband-server.ts';
import { ChildLines, exited, type ServerUnderTest } from './server-under-test.ts';

const SCRIPT = fileURLToPath(new URL('./sideband-server.ts', import.meta.url));

export interface SidebandOptions {
  dialect: 'sqlite' | 'postgres';
  subscribers: number;
  /** When set, the server writes a V8 CPU profile there as it exits (node --cpu-prof). */
  cpuProfileDir?: string;
}

/** Starts sideband-server.ts in a child process and waits until it is provisioned and listening. */
export async function startSideband(o: SidebandOptions): Promise<ServerUnderTest & { ready: SidebandReady }> {
  // --no-warnings: Fastify's deprecation notices would interleave with the bench's table.
  const node = ['--no-warnings', ...(o.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir] : []), '--conditions=sideband-source', '--import', 'tsx'];
  const child = spawn(process.execPath, [...node, SCRIPT, o.dialect, String(o.subscribers), SECRET], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = new ChildLines(child, `Sideband (${o.dialect})`);
  const stop = async (): Promise<void> => {
    child.stdin.end();
    await exited(child, 15_000);
    // 3: EXIT_THREW_WHILE_STOPPING in sideband-server.ts, which cannot be imported for a value (it would run).
    if (child.exitCode === 3) console.error(`Sideband (${o.dialect}) stopped and dropped its database, but ${lines.errors}`);
    else if (child.exitCode !== 0) console.error(`Sideband (${o.dialect}) did not stop cleanly (${child.exitCode ?? child.signalCode}); its temporary database may remain:\n${lines.errors}`);
  };
  let ready: SidebandReady;
  try {
    ready = JSON.parse(await lines.next(120_000, 'starting and provisioning')) as SidebandReady;
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    name: `Sideband ${o.dialect}`,
    pid: child.pid!,
    auth: ready.auth,
    acct: ready.acct,
    ready,
    async records() {
      child.stdin.write('records\n');
      const r = JSON.parse(await lines.next(30_000, 'counting its records')) as SidebandRecords;
      return { ...r };
    },
    stop,
  };
}
