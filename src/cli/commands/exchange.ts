import type { Command } from 'commander';
import { startExchange } from '../../channel/service/channel-part.ts';
import { createLogger } from '../../observability/logger.ts';
import { Metrics } from '../../observability/metrics.ts';
import type { Cli } from '../main.ts';

export function registerExchangeCommand(program: Command, cli: Cli): void {
  program
    .command('exchange')
    .description('run the SIP exchange (registrar and proxy for the secure channel\'s calls) alone, on its own address; lines from channel.exchange in the configuration')
    .action(async () => {
      const config = cli.config();
      const logger = createLogger({ level: config.logLevel });
      // Alone, the exchange keeps its call detail records in its log (no store to write to).
      const { exchange, listen } = await startExchange(config, null, logger, new Metrics());
      cli.output().result({ listen }, (r: { listen: Record<string, string> }) => ['Sideband exchange is running.', ...Object.entries(r.listen).map(([k, v]) => `  ${k.padEnd(12)} ${v}`), '', 'Stop with Ctrl-C.'].join('\n'));
      await new Promise<void>((resolve) => {
        const stop = () => void exchange.stop().finally(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
