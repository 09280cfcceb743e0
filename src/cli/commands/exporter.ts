import type { Command } from 'commander';
import type { ExporterView } from '../../tracking/service/exporter-registry.ts';
import type { Cli } from '../main.ts';
import { table } from '../output.ts';

export function registerExporterCommands(program: Command, cli: Cli): void {
  const cmd = program.command('exporter').description('flow exporters (NetFlow/IPFIX) allowed to send to the collector');
  cmd.command('add <name>')
    .description('allow flow records from this source address or range')
    .requiredOption('--address <cidr>', 'source address or range the exporter sends from')
    .action(async (name: string, o: { address: string }) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.exporters.add({ name, address: o.address }), (e: ExporterView) => `registered exporter ${e.name} (${e.address}); a running gateway picks it up within 10 s`)));
  cmd.command('remove <name>')
    .description('stop accepting flow records from this exporter; running gateways drop it')
    .action(async (name: string) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.exporters.remove(name), (e: { name: string; address: string }) => `removed exporter ${e.name} (${e.address}); running gateways drop it`)));
  cmd.command('list')
    .description('list exporters')
    .action(async () => cli.withContext(async (ctx, out) => out.result(await ctx.exporters.list(), (r: ExporterView[]) => table(r as unknown as Array<Record<string, unknown>>, ['name', 'address', 'createdAt']))));
}
