import type { Command } from 'commander';
import type { NasView, PoolView } from '../../provisioning/network.ts';
import { integer, type Cli } from '../main.ts';
import { table } from '../output.ts';

export function registerNetworkCommands(program: Command, cli: Cli): void {
  const nas = program.command('nas').description('RADIUS clients (NAS/BNG equipment)');
  nas.command('add <name>')
    .description('register a NAS by source address or CIDR with its shared secret')
    .requiredOption('--address <cidr>', 'source address or range the NAS sends from')
    .requiredOption('--secret <s>', 'RADIUS shared secret (at least 16 characters)')
    .option('--pool <name>', 'IPv4 address pool its subscribers draw Framed-IP-Address from')
    .option('--framed-ipv6-pool <name>', 'IPv6 pool its subscribers draw Framed-IPv6-Prefix from (RFC 3162)')
    .option('--delegated-ipv6-pool <name>', 'IPv6 pool its subscribers draw Delegated-IPv6-Prefix from (RFC 4818)')
    .option('--no-require-message-authenticator', 'accept Access-Requests without Message-Authenticator (weakens BlastRADIUS protection)')
    .option('--coa-port <n>', 'UDP port where the NAS takes Disconnect- and CoA-Requests (RFC 5176)', integer('--coa-port'), 3799)
    .option('--coa-address <ip>', 'address where the NAS takes them, when not the address it sends RADIUS from')
    .option('--tls-fingerprint <sha256>', 'RadSec (RFC 6614): SHA-256 fingerprint of the client certificate the NAS presents')
    .option('--tls-name <name>', 'RadSec: or the name (subjectAltName DNS, else CN) its certificate from the configured CA carries')
    .action(async (name: string, o: { address: string; secret: string; pool?: string; framedIpv6Pool?: string; delegatedIpv6Pool?: string; requireMessageAuthenticator: boolean; coaPort: number; coaAddress?: string; tlsFingerprint?: string; tlsName?: string }) =>
      cli.withContext(async (ctx, out) => {
        const n = await ctx.network.addNas({
          name, address: o.address, secret: o.secret, pool: o.pool ?? null, framedIpv6Pool: o.framedIpv6Pool ?? null, delegatedIpv6Pool: o.delegatedIpv6Pool ?? null,
          requireMessageAuthenticator: o.requireMessageAuthenticator, coaPort: o.coaPort,
          coaAddress: o.coaAddress ?? null, tlsFingerprint: o.tlsFingerprint ?? null, tlsName: o.tlsName ?? null,
        });
        out.result(n, (v: NasView) => `registered NAS ${v.name} (${v.address})${v.pool ? ` drawing from ${v.pool}` : ''}`);
      }));
  nas.command('update <name>')
    .description('change where a NAS takes Disconnect- and CoA-Requests, or how it is known over RadSec ("none" clears a setting)')
    .option('--coa-port <n>', 'UDP port where the NAS takes Disconnect- and CoA-Requests (RFC 5176)', integer('--coa-port'))
    .option('--coa-address <ip|none>', 'address where the NAS takes them; none: the address it sends RADIUS from')
    .option('--tls-fingerprint <sha256|none>', 'RadSec: SHA-256 fingerprint of the client certificate the NAS presents')
    .option('--tls-name <name|none>', 'RadSec: the name its certificate from the configured CA carries')
    .action(async (name: string, o: { coaPort?: number; coaAddress?: string; tlsFingerprint?: string; tlsName?: string }) =>
      cli.withContext(async (ctx, out) => {
        const orNull = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
        const change = Object.fromEntries(Object.entries({ coaPort: o.coaPort, coaAddress: orNull(o.coaAddress), tlsFingerprint: orNull(o.tlsFingerprint), tlsName: orNull(o.tlsName) }).filter(([, v]) => v !== undefined));
        out.result(await ctx.network.updateNas(name, change), (v: NasView) => `updated NAS ${v.name}: dynamic authorization to ${v.coaAddress ?? '(its own address)'}:${v.coaPort}, RadSec ${v.tlsFingerprint ? `fingerprint ${v.tlsFingerprint}` : v.tlsName ? `name ${v.tlsName}` : 'off'}`);
      }));
  nas.command('remove <name>')
    .description('stop serving a NAS client; its sessions stay in the history resolution answers from')
    .action(async (name: string) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.network.removeNas(name), (v: NasView) => `removed NAS ${v.name} (${v.address})`)));
  nas.command('list')
    .description('list NAS clients')
    .action(async () => cli.withContext(async (ctx, out) => out.result(await ctx.network.listNas(), (r: NasView[]) => table(r.map((n) => ({ ...n, messageAuthenticator: n.requireMessageAuthenticator ? 'required' : 'optional', radsec: n.tlsFingerprint ? 'fingerprint' : n.tlsName ? `name ${n.tlsName}` : '' })), ['name', 'address', 'pool', 'framedIpv6Pool', 'delegatedIpv6Pool', 'messageAuthenticator', 'coaPort', 'coaAddress', 'radsec']))));

  const pool = program.command('pool').description('address pools for Framed-IP-Address, and IPv6 prefix pools');
  pool.command('add <name>')
    .description('add a pool of IPv4 addresses, or of IPv6 prefixes carved from a range')
    .requiredOption('--cidr <cidr>', 'range to allocate from, e.g. 192.0.2.0/24 or 2001:db8:100::/40')
    .option('--ports-per-block <n>', 'carrier-grade NAT: share each address, this many source ports per subscriber', integer('--ports-per-block'))
    .option('--prefix-length <n>', 'IPv6: the length of the prefixes handed out (64 for Framed-IPv6-Prefix, 56 for Delegated-IPv6-Prefix)', integer('--prefix-length'))
    .action(async (name: string, o: { cidr: string; portsPerBlock?: number; prefixLength?: number }) =>
      cli.withContext(async (ctx, out) => {
        const p = await ctx.network.addPool({ name, cidr: o.cidr, portsPerBlock: o.portsPerBlock ?? null, prefixLength: o.prefixLength ?? null });
        out.result(p, (v: PoolView) => `added pool ${v.name} ${v.cidr}${v.prefixLength !== null ? ` of /${v.prefixLength} prefixes` : ''}`);
      }));
  pool.command('remove <name>')
    .description('remove a pool no NAS client draws from and no session holds an address of')
    .action(async (name: string) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.network.removePool(name), (v: PoolView) => `removed pool ${v.name} ${v.cidr}`)));
  pool.command('list')
    .description('list pools')
    .action(async () => cli.withContext(async (ctx, out) => out.result(await ctx.network.listPools(), (r: PoolView[]) => table(r as unknown as Array<Record<string, unknown>>, ['name', 'cidr', 'portsPerBlock', 'prefixLength']))));
}
