import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/load-config.ts';
import type { Config } from '../config/schema.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { openContext, type Context } from '../gateway/context.ts';
import { createLogger } from '../observability/logger.ts';
import { migrateStore, openStore } from '../store/open-store.ts';
import { registerExchangeCommand } from './commands/exchange.ts';
import { registerExporterCommands } from './commands/exporter.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerMerchantCommands } from './commands/merchant.ts';
import { registerNetworkCommands } from './commands/network.ts';
import { registerNatCommands } from './commands/nat.ts';
import { registerSessionCommands } from './commands/session.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerSubscriberCommands } from './commands/subscriber.ts';
import { registerTokenCommands } from './commands/token.ts';
import { createOutput, reportError, type Output } from './output.ts';

export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  config?: string;
  json?: boolean;
}

/** What each command gets: the parsed configuration, output, and a context opener. */
export interface Cli {
  config(): Config;
  output(): Output;
  withContext<T>(fn: (ctx: Context, out: Output) => Promise<T>): Promise<T>;
}

export const integer = (name: string) => (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number.`);
  return Number(value);
};

export function buildProgram(write: (s: string) => void, writeErr: (s: string) => void): { program: Command; cli: Cli } {
  const program = new Command('sideband')
    .description('Sideband: an access provider\'s gateway that lets subscribers buy online without their card crossing the Internet.')
    .option('--data-dir <dir>', 'data directory (SQLite file, keyring, demo.json)', undefined)
    .option('--database-url <url>', 'PostgreSQL URL (postgres://…); SQLite in the data directory when absent')
    .option('--config <file>', 'JSON configuration file (also SIDEBAND_CONFIG)')
    .option('--json', 'print results as JSON for scripts', false)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: write, writeErr })
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const cli: Cli = {
    config() {
      const g = globals();
      return loadConfig({ ...(g.config ? { file: g.config } : {}), overrides: { dataDir: g.dataDir, databaseUrl: g.databaseUrl } });
    },
    output() {
      return createOutput(globals().json === true, write, writeErr);
    },
    async withContext(fn) {
      const config = cli.config();
      const logger = createLogger({ level: 'warn', destination: process.stderr });
      const ctx = await openContext(config, logger, { actor: 'cli' });
      try {
        return await fn(ctx, cli.output());
      } finally {
        await ctx.close();
      }
    },
  };

  const db = program.command('db').description('database schema');
  db.command('migrate')
    .description('apply pending schema migrations')
    .action(async () => {
      const config = cli.config();
      // Opened as it is, so that every migration applied here is the one reported.
      const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, migrate: false, verifySchema: false });
      try {
        const applied = await migrateStore(store);
        cli.output().result({ database: store.location, applied }, (r: { database: string; applied: string[] }) =>
          (r.applied.length ? [`applied to ${r.database}:`, ...r.applied.map((name) => `  ${name}`)].join('\n') : `${r.database} is up to date (nothing to apply)`));
      } finally {
        await store.close();
      }
    });

  registerStartCommand(program, cli);
  registerSubscriberCommands(program, cli);
  registerMerchantCommands(program, cli);
  registerNetworkCommands(program, cli);
  registerNatCommands(program, cli);
  registerSessionCommands(program, cli);
  registerKeyCommands(program, cli);
  registerTokenCommands(program, cli);
  registerExporterCommands(program, cli);
  registerExchangeCommand(program, cli);
  return { program, cli };
}

/** Runs the CLI; returns the exit code rather than exiting, so tests can call it. */
export async function main(argv: string[], write = (s: string) => void process.stdout.write(s), writeErr = (s: string) => void process.stderr.write(s)): Promise<number> {
  const { program } = buildProgram(write, writeErr);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 64;
    return reportError(e, program.opts<GlobalOptions>().json === true, writeErr);
  }
}

/** Reads a value that may be given inline or as @file; a file that is not there is "not found", with its path. */
export function inlineOrFile(value: string, param = 'file'): string {
  if (!value.startsWith('@')) return value;
  const path = value.slice(1);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SidebandError('INPUT_FILE_NOT_FOUND', `No file ${resolve(path)} (given as ${value}).`, { param });
    throw new SidebandError('INPUT_FILE_UNREADABLE', `Cannot read ${resolve(path)} (given as ${value}): ${code ?? (e as Error).message}.`, { param });
  }
}
