import type { Command } from 'commander';
import type { MerchantView } from '../../certification/merchant-registry.ts';
import type { SettlementPreference } from '../../store/schema.ts';
import { inlineOrFile, type Cli } from '../main.ts';
import { table } from '../output.ts';
import { writeMerchantKeyPair, type MerchantKeyPair } from './merchant-keygen.ts';

function describe(m: MerchantView): string {
  return [
    `${m.name} (${m.id})`,
    `  status      ${m.status}`,
    `  settlement  ${m.settlementPreference}`,
    `  webhook     ${m.webhookUrl ?? '-'}`,
    `  networks    ${m.networks.join(', ') || '-'}`,
    `  channel     ${m.channel ? `${m.channel.url} from ${m.channel.lineNumber}` : '-'}`,
    `  keys        ${m.keys.map((k) => `${k.keyId} (${k.use}, ${k.algorithm}, ${k.status})`).join(', ') || '-'}`,
  ].join('\n');
}

export function registerMerchantCommands(program: Command, cli: Cli): void {
  const cmd = program.command('merchant').description('the certification server\'s listing of merchants');

  cmd.command('add <name>')
    .description('register a merchant (status pending until certified)')
    .option('--webhook <url>', 'URL that receives signed event deliveries')
    .option('--settlement <how>', 'card, provider_bill or merchant_bill', 'card')
    .action(async (name: string, o: { webhook?: string; settlement: SettlementPreference }) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.merchants.add({ name, webhookUrl: o.webhook ?? null, settlement: o.settlement }), describe)));

  cmd.command('list')
    .description('list merchants')
    .action(async () =>
      cli.withContext(async (ctx, out) => {
        const rows = await ctx.merchants.list();
        out.result(rows, (r: MerchantView[]) => table(r.map((m) => ({ id: m.id, name: m.name, status: m.status, settlement: m.settlementPreference, networks: m.networks.length, keys: m.keys.filter((k) => k.status === 'active').length })), ['id', 'name', 'status', 'settlement', 'networks', 'keys']));
      }));

  cmd.command('show <merchantId>').description('show a merchant').action(async (id: string) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.show(id), describe)));
  cmd.command('certify <merchantId>').description('certify a merchant: its signed requests are accepted').action(async (id: string) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.certify(id), describe)));
  cmd.command('revoke <merchantId>').description('revoke a merchant: every request is refused from now on').action(async (id: string) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.revoke(id), describe)));

  cmd.command('keygen')
    .description('write an Ed25519 signing key pair for a merchant (private key mode 0600) and print the add-key line that registers it; needs no gateway')
    .option('--out <prefix>', 'files PREFIX-ed25519.pem and PREFIX-ed25519.pub.pem', 'merchant')
    .option('--key-id <id>', 'key id for the merchant\'s signatures (default PREFIX-YYYYMMDD)')
    .option('--merchant <merchantId>', 'the merchant, to fill into the add-key line')
    .action((o: { out: string; keyId?: string; merchant?: string }) => {
      const pair = writeMerchantKeyPair({ prefix: o.out, ...(o.keyId ? { keyId: o.keyId } : {}), ...(o.merchant ? { merchantId: o.merchant } : {}) });
      cli.output().result(pair, (p: MerchantKeyPair) => [
        `wrote ${p.privateKeyPath} (private key, mode 0600: it stays with the merchant's server, for SidebandClient's privateKey)`,
        `wrote ${p.publicKeyPath} (public key: the provider registers it with the line below)`,
        p.addKey,
      ].join('\n'));
    });

  cmd.command('add-key <merchantId> <publicKey>')
    .description('register a public key, PEM or JWK, inline or as @file (Ed25519 for signing; P-256, X25519 or RSA for encryption)')
    .option('--use <use>', 'sig (request signing) or enc (JWE to the merchant)', 'sig')
    .option('--key-id <id>', 'key id the merchant puts in its signatures (generated when absent)')
    .action(async (id: string, key: string, o: { use: 'sig' | 'enc'; keyId?: string }) =>
      cli.withContext(async (ctx, out) => {
        const k = await ctx.merchants.addKey(id, { publicKey: inlineOrFile(key, 'publicKey'), use: o.use, ...(o.keyId ? { keyId: o.keyId } : {}) });
        out.result(k, (v: { keyId: string; algorithm: string }) => `registered ${v.algorithm} key ${v.keyId}`);
      }));

  cmd.command('revoke-key <merchantId> <keyId>')
    .description('revoke one of a merchant\'s keys')
    .action(async (id: string, keyId: string) =>
      cli.withContext(async (ctx, out) => {
        await ctx.merchants.revokeKey(id, keyId);
        out.result({ revoked: keyId }, (r: { revoked: string }) => `revoked ${r.revoked}`);
      }));

  cmd.command('set-channel <merchantId>')
    .description('register the merchant\'s secure-channel endpoint (its SDK MerchantChannel)')
    .requiredOption('--url <url>', 'where the provider negotiates with the endpoint, on the data network')
    .requiredOption('--line <number>', 'the number the merchant calls from')
    .requiredOption('--fingerprint <fp>', 'its certificate, as "sha-256 AB:CD:…" (RFC 8122)')
    .action(async (id: string, o: { url: string; line: string; fingerprint: string }) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.setChannel(id, { url: o.url, lineNumber: o.line, fingerprint: o.fingerprint }), describe)));

  const setWebhook = cmd.command('set-webhook <merchantId>')
    .description('change where the merchant\'s signed event deliveries go; deliveries not yet made follow')
    .option('--url <url>', 'the new webhook URL')
    .option('--none', 'stop sending webhooks to this merchant')
    .action(async (id: string, o: { url?: string; none?: boolean }) => {
      if ((o.url === undefined) === (o.none !== true)) setWebhook.error('error: give either --url URL or --none', { exitCode: 64 });
      return cli.withContext(async (ctx, out) => {
        const m = await ctx.merchants.setWebhook(id, o.none ? null : o.url!);
        out.result(m, (v: MerchantView & { redirected: number }) => `${describe(v)}${v.redirected > 0 ? `\n${v.redirected} pending deliveries now go to the new URL` : ''}`);
      });
    });

  cmd.command('remove-network <merchantId> <cidr>')
    .description('forget a network the merchant served from')
    .action(async (id: string, cidr: string) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.removeNetwork(id, cidr), describe)));

  cmd.command('add-network <merchantId> <cidr>')
    .description('a network the merchant serves from (the destination check looks for visits to it)')
    .action(async (id: string, cidr: string) => cli.withContext(async (ctx, out) => out.result(await ctx.merchants.addNetwork(id, cidr), describe)));
}
