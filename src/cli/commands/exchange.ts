import type { Command } from 'commander';
import { startExchange } from '../../channel/service/channel-part.ts';
import { haveStoredLinePassword, linePasswordUnknown, storedLinePassword } from '../../channel/service/provider-line-password.ts';
import { refuseWeakSecrets } from '../../config/weak-secrets.ts';
import { openContext } from '../../gateway/context.ts';
import { checkListenAddresses, explainBindFailure, plannedListeners } from '../../gateway/listen-preflight.ts';
import { createLogger } from '../../observability/logger.ts';
import { Metrics } from '../../observability/metrics.ts';
import type { Cli } from '../main.ts';

export function registerExchangeCommand(program: Command, cli: Cli): void {
  program
    .command('exchange')
    .description('run the SIP exchange (registrar and proxy for the secure channel\'s calls) alone, on its own address; lines from channel.exchange in the configuration, the provider\'s line password from it or, when it sets none, from the vault the gateways use (same --data-dir / --database-url), never generated here')
    .action(async () => {
      const config = cli.config();
      refuseWeakSecrets(config, [config.channel.exchange.host]);
      const logger = createLogger({ level: config.logLevel });
      // The exchange's own sockets, as a gateway running it built in would bind them.
      const asBuiltIn = { ...config, channel: { ...config.channel, enabled: true, exchange: { ...config.channel.exchange, builtIn: true } } };
      const ours = (p: { setting: string }) => p.setting.startsWith('channel.exchange.');
      // Issue 11 §6: the gateways generate the provider's line password on first start and
      // keep it with the data; this process only reads it, and refuses where there is none.
      if (config.channel.exchange.password === undefined && !(await haveStoredLinePassword(config))) throw linePasswordUnknown(config);
      const planned = plannedListeners(asBuiltIn).filter(ours);
      await checkListenAddresses(asBuiltIn, ours);
      let password: string | null | undefined = config.channel.exchange.password;
      if (password === undefined) {
        const ctx = await openContext(config, createLogger({ level: 'warn', destination: process.stderr }), { actor: 'exchange' });
        try {
          password = await storedLinePassword(ctx.store, ctx.vault);
        } finally {
          await ctx.close();
        }
        if (password === null) throw linePasswordUnknown(config);
      }
      // Alone, the exchange keeps its call detail records in its log (no store to write to).
      const { exchange, listen } = await startExchange(config, null, logger, new Metrics(), password).catch((e: unknown) => Promise.reject(explainBindFailure(e, planned)));
      // Listening for the signals before saying it runs: a supervisor may stop it at once.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => void exchange.stop().finally(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      cli.output().result({ listen }, (r: { listen: Record<string, string> }) => ['Sideband exchange is running.', ...Object.entries(r.listen).map(([k, v]) => `  ${k.padEnd(12)} ${v}`), '', 'Stop with Ctrl-C.'].join('\n'));
      await stopped;
    });
}
