import type { Command } from 'commander';
import { Gateway } from '../../gateway/gateway.ts';
import { createLogger } from '../../observability/logger.ts';
import type { Cli } from '../main.ts';

export function registerStartCommand(program: Command, cli: Cli): void {
  program
    .command('start')
    .description('run the whole gateway in one process; on a fresh data directory, create a development key and demo data')
    .action(async () => {
      const config = cli.config();
      const logger = createLogger({ level: config.logLevel });
      const gateway = new Gateway({ config, logger });
      await gateway.start();
      // Listening for the signals before saying it runs: a supervisor may stop it at once.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          gateway.stop().then(resolve, (e) => {
            logger.error({ err: e }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      const out = cli.output();
      const summary = { dataDir: config.dataDir, store: gateway.context.store.location, listen: gateway.listen, ...(gateway.demo ? { demo: gateway.demo } : {}) };
      out.result(summary, (s: typeof summary) => {
        const lines = ['Sideband is running.', `  data     ${s.dataDir}`, `  store    ${s.store}`];
        for (const [name, where] of Object.entries(s.listen)) lines.push(`  ${name.padEnd(13)} ${where}`);
        if (s.demo) lines.push('', `Demo data written to ${s.dataDir}/demo.json:`, JSON.stringify(s.demo, null, 2));
        lines.push('', 'Stop with Ctrl-C.');
        return lines.join('\n');
      });
      await stopped;
    });
}
