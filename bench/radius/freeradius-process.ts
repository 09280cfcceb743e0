import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { POOL_CIDR, SECRET, login, password } from './bench-data.ts';
import { SYSTEM_RADDB, writeFreeradiusConfig, type SqlPeer } from './freeradius-config.ts';
import { throwawayDatabase, type ThrowawayDatabase } from '../../test/support/databases.ts';
import { RADCLIENT } from './radclient-load.ts';
import { ChildLines, exited, type ServerUnderTest } from './server-under-test.ts';

export const FREERADIUS = '/usr/sbin/freeradius';

/** A UDP port free on 127.0.0.1 now (the kernel's pick); FreeRADIUS binds it a moment later. */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

// The shell stays between the bench and FreeRADIUS as a watchdog: it prints the server's
// pid, then kills it when its stdin closes, which happens when the bench stops it and also
// when the bench dies without cleaning up.
const WATCHDOG = '"$0" -f -d "$1" & echo $!; read _; kill $! 2>/dev/null; wait';

const POOL_NAME = 'bench';
/** rlm_sql's PostgreSQL driver, from Debian's freeradius-postgresql (installed here when missing, as root). */
const SQL_DRIVER = '/usr/lib/freeradius/rlm_sql_postgresql.so';

function ensureSqlDriver(): void {
  if (existsSync(SQL_DRIVER) || process.getuid?.() !== 0) return;
  console.log('# installing freeradius-postgresql (Debian package) for rlm_sql_postgresql');
  execFileSync('apt-get', ['install', '-y', '-q', 'freeradius-postgresql'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/**
 * A throwaway PostgreSQL database with FreeRADIUS's own schema (Debian's
 * mods-config/sql/main/postgresql and ippool/postgresql) and, in radippool, every host
 * address of Sideband's pool (the same size), each lease expired.
 */
async function sqlPeerDatabase(): Promise<{ database: ThrowawayDatabase; peer: SqlPeer & { dialect: 'postgresql' } }> {
  ensureSqlDriver();
  if (!existsSync(SQL_DRIVER)) throw new Error(`${SQL_DRIVER} is missing: apt-get install freeradius-postgresql`);
  const database = await throwawayDatabase('postgres');
  try {
    const url = new URL(database.databaseUrl!);
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      for (const part of ['main', 'ippool']) await client.query(readFileSync(join(SYSTEM_RADDB, 'mods-config', 'sql', part, 'postgresql', 'schema.sql'), 'utf8'));
      const [network, bits] = POOL_CIDR.split('/');
      await client.query(
        `insert into radippool (pool_name, framedipaddress, expiry_time)
         select $1, $2::inet + g, now() - interval '1 hour' from generate_series(1, $3::int) g`,
        [POOL_NAME, network, 2 ** (32 - Number(bits)) - 2],
      );
      await client.query('analyze');
    } finally {
      await client.end();
    }
    return { database, peer: { dialect: 'postgresql', host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username) || 'postgres', database: database.name!, poolName: POOL_NAME } };
  } catch (e) {
    await database.drop();
    throw e;
  }
}

export interface FreeradiusOptions {
  /**
   * `postgres`: rlm_sql and sqlippool on a throwaway PostgreSQL database, dropped when
   * stopped. `sqlite`: rlm_sql accounting on an SQLite file under the server's directory.
   */
  sql?: 'postgres' | 'sqlite';
}

/**
 * rlm_sql_sqlite's file, made with Debian's FreeRADIUS schema for SQLite and put in WAL
 * mode, as Sideband's is; `synchronous` stays SQLite's default, FULL (each commit fsyncs its
 * log), as Sideband's. rlm_sql_sqlite itself sets neither.
 */
function sqliteRadacct(dir: string): SqlPeer & { dialect: 'sqlite' } {
  const filename = join(dir, 'radius.sqlite');
  const db = new Database(filename);
  try {
    db.exec(readFileSync(join(SYSTEM_RADDB, 'mods-config', 'sql', 'main', 'sqlite', 'schema.sql'), 'utf8'));
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return { dialect: 'sqlite', filename };
}

/**
 * Writes a configuration under `dir` (see freeradius-config.ts), checks it with
 * `freeradius -C`, and runs `freeradius -f` (foreground, not debug) until stopped.
 */
export async function startFreeradius(dir: string, subscribers: number, options: FreeradiusOptions = {}): Promise<ServerUnderTest> {
  const [authPort, acctPort] = [await freePort(), await freePort()];
  const raddb = join(dir, 'raddb');
  const users = Array.from({ length: subscribers }, (_, i): [string, string] => [login(i), password(i)]);
  const sql: SqlServer | undefined = options.sql === 'postgres' ? await sqlPeerDatabase() : options.sql === 'sqlite' ? { peer: sqliteRadacct(dir) } : undefined;
  try {
    writeFreeradiusConfig({ dir, raddb, authPort, acctPort, secret: SECRET, users, ...(sql ? { sql: sql.peer } : {}) });
  } catch (e) {
    await sql?.database?.drop();
    throw e;
  }
  return run(dir, raddb, authPort, acctPort, sql);
}

/** The database rlm_sql writes to, and on PostgreSQL the throwaway database to drop at the end. */
interface SqlServer {
  peer: SqlPeer;
  database?: ThrowawayDatabase;
}

async function run(dir: string, raddb: string, authPort: number, acctPort: number, sql: SqlServer | undefined): Promise<ServerUnderTest> {
  const log = join(dir, 'log', 'radius.log');
  const check = spawnSync(FREERADIUS, ['-C', '-d', raddb], { encoding: 'utf8' });
  if (check.status !== 0) {
    await sql?.database?.drop();
    throw new Error(`freeradius -C rejected the bench's configuration:\n${tail(log)}${check.stderr}${check.stdout.split('\n').slice(-15).join('\n')}`);
  }

  const child = spawn('sh', ['-c', WATCHDOG, FREERADIUS, raddb], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = new ChildLines(child, 'FreeRADIUS');
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      child.stdin.end();
      await exited(child, 10_000);
      await sql?.database?.drop();
    })());
  try {
    const pid = Number(await lines.next(5_000, 'starting'));
    await untilAnswering(`127.0.0.1:${authPort}`, log);
    return {
      name: sql?.peer.dialect === 'sqlite' ? 'FreeRADIUS sqlite' : sql ? 'FreeRADIUS sql' : 'FreeRADIUS',
      pid,
      auth: `127.0.0.1:${authPort}`,
      acct: `127.0.0.1:${acctPort}`,
      async records() {
        const detail = { detailRecords: detailRecords(join(dir, 'log', 'radacct')) };
        if (sql?.peer.dialect === 'sqlite') return { ...detail, ...sqliteRecords(sql.peer.filename) };
        return sql?.database ? { ...detail, ...(await sqlRecords(sql.database.databaseUrl!)) } : detail;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Status-Server (RFC 5997) until it answers; FreeRADIUS takes under a second to load. */
async function untilAnswering(server: string, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const probe = spawnSync(RADCLIENT, ['-q', '-r', '1', '-t', '1', server, 'status', SECRET], { input: 'Message-Authenticator = 0x00\n', encoding: 'utf8', timeout: 5_000 });
    if (probe.status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`FreeRADIUS did not answer Status-Server on ${server}:\n${tail(log)}`);
}

/** Rows rlm_sql wrote (radacct, of them those stopped, radpostauth) and the leases sqlippool holds. */
async function sqlRecords(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(
      `select (select count(*) from radacct) as "radacctRows", (select count(acctstoptime) from radacct) as "radacctStopped", (select count(*) from radpostauth) as "radpostauthRows",
              (select count(*) from radippool where expiry_time > now()) as "leases"`,
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
  } finally {
    await client.end();
  }
}

/** Rows rlm_sql_sqlite wrote: sessions started, and of them those stopped. */
function sqliteRecords(filename: string): Record<string, number> {
  const db = new Database(filename, { readonly: true });
  try {
    return db.prepare('select count(*) as "radacctRows", count(acctstoptime) as "radacctStopped" from radacct').get() as Record<string, number>;
  } finally {
    db.close();
  }
}

/** Accounting records the detail module wrote: one `Acct-Status-Type` line each. */
function detailRecords(radacct: string): number {
  let n = 0;
  if (!existsSync(radacct)) return 0;
  for (const client of readdirSync(radacct)) {
    for (const file of readdirSync(join(radacct, client))) n += readFileSync(join(radacct, client, file), 'utf8').split('\n\tAcct-Status-Type = ').length - 1;
  }
  return n;
}

const tail = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-15).join('\n') + '\n' : '');
