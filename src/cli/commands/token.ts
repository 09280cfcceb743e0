import type { Command } from 'commander';
import type { Cli } from '../main.ts';
import { table } from '../output.ts';

export function registerTokenCommands(program: Command, cli: Cli): void {
  const token = program.command('token').description('bearer tokens for the operator API');
  token.command('issue <name>')
    .description('issue a token; it is shown once')
    .action(async (name: string) => cli.withContext(async (ctx, out) => out.result(await ctx.tokens.issue(name), (t: { token: string; id: string }) => `${t.token}\n(id ${t.id}; store it now, it is not shown again)`)));
  token.command('list')
    .description('list tokens (never their values)')
    .action(async () => cli.withContext(async (ctx, out) => out.result(await ctx.tokens.list(), (r: Array<Record<string, unknown>>) => table(r, ['id', 'name', 'createdAt', 'revokedAt']))));
  token.command('revoke <id>')
    .description('revoke a token')
    .action(async (id: string) =>
      cli.withContext(async (ctx, out) => {
        await ctx.tokens.revoke(id);
        out.result({ revoked: id }, (r: { revoked: string }) => `revoked ${r.revoked}`);
      }));
}
