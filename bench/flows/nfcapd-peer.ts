import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorUnderTest } from './collector-under-test.ts';
import { startDaemon } from './daemon.ts';
import { freeUdpPort } from './free-udp-port.ts';
import { RECEIVE_BUFFER } from './receive-buffer.ts';

/**
 * nfdump's collector (1.7): decodes each record into nfdump's format and appends it to a
 * file, with running totals; no aggregation. Counted afterwards with `nfdump -I`.
 */
export async function startNfcapd(dir: string): Promise<CollectorUnderTest> {
  const flows = join(dir, 'nfcapd');
  mkdirSync(flows);
  const port = await freeUdpPort();
  // -t 3600: one file for the run, unless it straddles the hour; every file is counted.
  const daemon = await startDaemon('/usr/bin/nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', flows, '-B', String(RECEIVE_BUFFER), '-t', '3600'], { port, log: join(dir, 'nfcapd.log'), signal: 'SIGTERM' });
  return {
    name: 'nfcapd',
    work: 'decode, convert to nfdump records, append every record to a binary file (uncompressed)',
    receiver: { port, pids: [daemon.pid] },
    async finish() {
      const code = await daemon.stop();
      let records = 0;
      const files = readdirSync(flows).filter((f) => /^nfcapd\.\d+$/.test(f));
      for (const f of files) {
        const summary = execFileSync('/usr/bin/nfdump', ['-r', join(flows, f), '-I'], { encoding: 'utf8' });
        records += Number(/^Flows: (\d+)$/m.exec(summary)?.[1] ?? NaN);
      }
      return { records, attributed: null, detail: `exit ${code}, ${files.length} file(s)` };
    },
  };
}
