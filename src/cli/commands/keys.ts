import type { Command } from 'commander';
import type { RotationResult } from '../../vault/vault.ts';
import type { Cli } from '../main.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { JobLeases } from '../../store/job-leases.ts';

const ROTATION_LEASE = 'key-rotation';
/** How long a rotation's claim outlives a process that died in it; renewed at each batch. */
const ROTATION_LEASE_MS = 60_000;

interface KeyRow {
  keyId: string;
  /** What the database records: active, previous or retired; null for a key only the keyring has. */
  status: string | null;
  inKeyring: boolean;
  records: number;
}

export function registerKeyCommands(program: Command, cli: Cli): void {
  const keys = program.command('keys').description('the vault\'s master keys');

  keys.command('list')
    .description('master key ids: which one the database seals under, whether this keyring holds each, and how many records each wraps')
    .action(async () =>
      cli.withContext(async (ctx, out) => {
        const counts = await ctx.vault.countByKey();
        const recorded = await ctx.vault.keys.list();
        const ids = [...new Set([...recorded.map((k) => k.keyId), ...ctx.keyring.ids])];
        const rows: KeyRow[] = ids.map((id) => ({ keyId: id, status: recorded.find((k) => k.keyId === id)?.status ?? null, inKeyring: ctx.keyring.ids.includes(id), records: counts[id] ?? 0 }));
        out.result({ keys: rows, keyring: ctx.keyring.source }, (r: { keys: KeyRow[]; keyring: string }) =>
          [`keys of the database, and whether ${r.keyring} holds them:`, ...r.keys.map((k) => `  ${k.keyId.padEnd(20)} ${(k.status ?? 'not in the database').padEnd(20)} ${k.inKeyring ? 'held' : 'not held'}  ${k.records} records`)].join('\n'));
      }));

  keys.command('rotate')
    .description('add a new master key, make it the database\'s active key and re-wrap every data key under it; safe while gateways run (they seal under the new key within seconds), and safe to re-run after an interruption')
    .option('--resume', 'finish an interrupted rotation: re-wrap onto the active key without creating another')
    .action(async (o: { resume?: boolean }) =>
      cli.withContext(async (ctx, out) => {
        // One rotation at a time across every process on the database: two would each
        // write a new key and re-wrap under whichever happened to commit last.
        const leases = new JobLeases(ctx.store);
        if (!(await leases.hold(ROTATION_LEASE, ROTATION_LEASE_MS))) {
          const holder = (await leases.list()).find((l) => l.name === ROTATION_LEASE)?.holder ?? 'another process';
          throw new SidebandError('VAULT_ROTATION_RUNNING', `A key rotation is already running (${holder}); wait for it, or if it died, run \`sideband keys rotate --resume\` once its claim lapses (${ROTATION_LEASE_MS / 1000} s after it stopped).`);
        }
        const result = await ctx.vault
          .rotate({ resume: o.resume === true }, (p) => {
            out.note(`re-wrapped ${p.done}/${p.total}`);
            void leases.hold(ROTATION_LEASE, ROTATION_LEASE_MS).catch(() => {});
          })
          .finally(() => leases.releaseAll().catch(() => {}));
        if (!o.resume) out.note(`new active key ${result.activeKey}${result.previousKey ? ` (was ${result.previousKey})` : ''}`);
        out.result(result, (r: RotationResult) =>
          [
            `re-wrapped ${r.rewrapped} records under ${r.activeKey}`,
            ...(r.unreadable > 0 ? [`${r.unreadable} records are under keys this keyring does not hold and were left as they are`] : []),
            ...(r.previousKey ? [`retire the old key with \`sideband keys retire ${r.previousKey}\``] : []),
          ].join('\n'));
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
