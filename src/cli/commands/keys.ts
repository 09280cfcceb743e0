import type { Command } from 'commander';
import type { Cli } from '../main.ts';

export function registerKeyCommands(program: Command, cli: Cli): void {
  const keys = program.command('keys').description('the vault\'s master keys');

  keys.command('list')
    .description('master key ids, which is active, and how many records each wraps')
    .action(async () =>
      cli.withContext(async (ctx, out) => {
        const counts = await ctx.vault.countByKey();
        const rows = ctx.keyring.ids.map((id) => ({ keyId: id, active: id === ctx.keyring.active.id, records: counts[id] ?? 0 }));
        out.result({ keys: rows, retired: ctx.keyring.retiredIds }, (r: { keys: typeof rows; retired: string[] }) =>
          [...r.keys.map((k) => `${k.keyId}${k.active ? ' (active)' : ''}  ${k.records} records`), ...r.retired.map((id) => `${id} (retired)`)].join('\n'));
      }));

  keys.command('rotate')
    .description('add a new active master key and re-wrap every data key under it; safe while the gateway runs, and safe to re-run after an interruption')
    .option('--resume', 're-wrap onto the current active key without creating another')
    .action(async (o: { resume?: boolean }) =>
      cli.withContext(async (ctx, out) => {
        const previous = ctx.keyring.active.id;
        const next = o.resume ? ctx.keyring.active : ctx.keyring.addActiveKey();
        if (!o.resume) out.note(`new active key ${next.id} (was ${previous})`);
        const result = await ctx.vault.rewrapAll((p) => out.note(`re-wrapped ${p.done}/${p.total}`));
        out.result({ activeKey: next.id, previousKey: previous, rewrapped: result.done }, (r: { activeKey: string; rewrapped: number; previousKey: string }) =>
          `re-wrapped ${r.rewrapped} records under ${r.activeKey}; retire the old key with \`sideband keys retire ${r.previousKey}\``);
      }));

  keys.command('retire <keyId>')
    .description('destroy an old master key once no record is wrapped under it')
    .option('--force', 'retire even though records still need it (they become unreadable)')
    .action(async (keyId: string, o: { force?: boolean }) =>
      cli.withContext(async (ctx, out) => {
        await ctx.vault.retire(keyId, { force: o.force === true });
        out.result({ retired: keyId }, (r: { retired: string }) => `retired ${r.retired}`);
      }));
}
