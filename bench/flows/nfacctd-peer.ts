import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectorUnderTest } from './collector-under-test.ts';
import { startDaemon } from './daemon.ts';
import { freeUdpPort } from './free-udp-port.ts';
import { processTree } from './process-tree-cpu.ts';
import { RECEIVE_BUFFER } from './receive-buffer.ts';

const PLUGIN_SETTLE_MS = 1500;

/**
 * pmacct's collector with its print plugin, aggregating by source and destination
 * address (the nearest thing to Sideband's session × destination book), in memory until
 * it stops, then written as CSV; the `flows` primitive counts the records folded in.
 */
export async function startNfacctd(dir: string): Promise<CollectorUnderTest> {
  const port = await freeUdpPort();
  const csv = join(dir, 'nfacctd.csv');
  const config = join(dir, 'nfacctd.conf');
  writeFileSync(config, [
    'daemonize: false',
    'nfacctd_ip: 127.0.0.1',
    `nfacctd_port: ${port}`,
    `nfacctd_pipe_size: ${RECEIVE_BUFFER}`,
    `logfile: ${join(dir, 'nfacctd.log')}`,
    'plugins: print[bench]',
    'aggregate[bench]: src_host, dst_host, flows',
    'print_output[bench]: csv',
    `print_output_file[bench]: ${csv}`,
    // Appended, so that a purge the refresh timer makes during the run is not overwritten by the last.
    'print_output_file_append[bench]: true',
    'print_refresh_time[bench]: 3600',
    // The default queue from the core process to the plugin, a 4 MB ring, is overrun at
    // this rate and loses records without a warning (a 100 MB ring lost 44 % here; one
    // that holds the whole replay costs a second of page faults instead). ZeroMQ's queue,
    // with no high water mark by default, keeps them all; xlarge is the profile for
    // "from 250K" flows/s (CONFIG-KEYS).
    'plugin_pipe_zmq[bench]: true',
    'plugin_pipe_zmq_profile[bench]: xlarge',
    '',
  ].join('\n'));
  // SIGINT: "the signal is used by the Core Process itself and propagated to each running
  // plugin for graceful termination (… purge data …)" (pmacct docs/SIGNALS).
  const daemon = await startDaemon('/usr/sbin/nfacctd', ['-f', config], { port, log: join(dir, 'nfacctd.out'), signal: 'SIGINT' });
  // The core process forks the plugin; both do the work.
  const until = Date.now() + 5000;
  while (processTree(daemon.pid).length < 2 && Date.now() < until) await sleep(20);
  // The plugin connects to the core over ZeroMQ a moment after the socket is bound, and
  // what the core receives before is lost (up to 5 % of the replay when sent at once);
  // no log line tells when, so give it time.
  await sleep(PLUGIN_SETTLE_MS);
  return {
    name: 'nfacctd',
    work: 'decode, pass to the print plugin process over ZeroMQ, aggregate by (source, destination) in memory, CSV at exit',
    receiver: { port, pids: processTree(daemon.pid) },
    async finish() {
      const code = await daemon.stop();
      const [header, ...rows] = readFileSync(csv, 'utf8').split('\n');
      const column = header!.split(',').indexOf('FLOWS');
      let records = 0;
      let aggregates = 0;
      for (const row of rows) {
        const flows = Number(row.split(',')[column]);
        if (row === '' || !Number.isFinite(flows)) continue;
        records += flows;
        aggregates++;
      }
      const missing = readFileSync(join(dir, 'nfacctd.log'), 'utf8').match(/Missing data detected/g)?.length ?? 0;
      return { records, attributed: records, detail: `exit ${code}, ${aggregates.toLocaleString('en')} (source, destination) aggregates${missing ? `, ${missing} "Missing data" warnings` : ''}` };
    },
  };
}
