import type { Command } from 'commander';
import type { DeterministicNatView } from '../../provisioning/deterministic-nat.ts';
import { integer, type Cli } from '../main.ts';
import { table } from '../output.ts';

export function registerNatCommands(program: Command, cli: Cli): void {
  const nat = program.command('nat').description('deterministic NAT mappings (RFC 7422) for NAT devices that report nothing over RADIUS');
  nat.command('add <name>')
    .description('map inside addresses to outside addresses and port ranges, as the NAT is configured')
    .requiredOption('--inside <cidr>', 'the subscribers\' inside addresses, e.g. 100.64.0.0/20')
    .requiredOption('--outside <cidr>', 'the NAT\'s outside addresses, e.g. 198.51.100.0/26')
    .requiredOption('--ports-per-subscriber <n>', 'ports each inside address gets', integer('--ports-per-subscriber'))
    .option('--first-port <n>', 'the first port mapped (ports below it are never used)', integer('--first-port'), 1024)
    .action(async (name: string, o: { inside: string; outside: string; portsPerSubscriber: number; firstPort: number }) =>
      cli.withContext(async (ctx, out) => {
        const m = await ctx.nat.add({ name, inside: o.inside, outside: o.outside, portsPerSubscriber: o.portsPerSubscriber, firstPort: o.firstPort });
        out.result(m, (v: DeterministicNatView) => `added deterministic NAT ${v.name}: ${v.inside} → ${v.outside}, ${v.portsPerSubscriber} ports each from ${v.firstPort} (${v.rangesPerAddress} ranges per outside address)`);
      }));
  nat.command('remove <name>')
    .description('end a mapping from now; resolution still answers by it for the time it was in force')
    .action(async (name: string) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.nat.remove(name), (v: DeterministicNatView) => `removed deterministic NAT ${v.name} (${v.inside} → ${v.outside})`)));
  nat.command('list')
    .description('list mappings in force (--all: removed ones too)')
    .option('--all', 'include removed mappings')
    .action(async (o: { all?: boolean }) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.nat.list(o.all === true), (r: DeterministicNatView[]) => table(r as unknown as Array<Record<string, unknown>>, ['name', 'inside', 'outside', 'portsPerSubscriber', 'firstPort', 'removedAt']))));
}
