import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's freeradius package keeps the configuration the bench starts from. */
export const SYSTEM_RADDB = '/etc/freeradius/3.0';

/**
 * SO_RCVBUF for both listeners, as Sideband asks for its own (radius-server.ts); the kernel
 * caps both at net.core.rmem_max. With the default (rmem_default) a burst of a few hundred
 * requests overflows the socket and radclient waits out its timeout.
 */
export const RECEIVE_BUFFER = 8 * 1024 * 1024;

export interface FreeradiusConfig {
  /** The temporary directory holding raddb/, log/ and run/. */
  dir: string;
  raddb: string;
  authPort: number;
  acctPort: number;
  secret: string;
  /** Login and Cleartext-Password of every subscriber, for the `files` module. */
  users: Array<[login: string, password: string]>;
  /**
   * When set, `rlm_sql` on this database: on PostgreSQL with `sqlippool`, the subscribers
   * drawing from pool `poolName`; on SQLite for accounting only (the SQLite rows' accounting peer).
   */
  sql?: SqlPeer;
}

/** Where rlm_sql_postgresql connects (a libpq connection string's parts) and the sqlippool pool name, or rlm_sql_sqlite's file. */
export type SqlPeer =
  | { dialect: 'postgresql'; host: string; port: number; user: string; database: string; poolName: string }
  | { dialect: 'sqlite'; filename: string };

/**
 * How long rlm_sql_sqlite's connections wait for another's write lock, in ms. Debian ships
 * 200: under the bench's 128 requests in flight FreeRADIUS's threads queue for SQLite's one
 * writer, and a wait past that would fail the request; a provider who saw it would raise it.
 */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * Copies Debian's FreeRADIUS configuration under `dir` and changes only what the bench
 * needs, so that the server measured is the stock `default` site:
 *
 * - radiusd.conf: every path (raddbdir, logdir, run_dir) under `dir`; no `user`/`group`
 *   (it stays the user that started it, who owns `dir`); the log to a file, no colour.
 * - clients.conf: one client, 127.0.0.1, with the bench's secret and
 *   require_message_authenticator = yes (Sideband requires it too).
 * - sites-enabled/default: its four `listen` sections (auth and acct on every IPv4 and
 *   IPv6 address) replaced by two on 127.0.0.1 and the given ports.
 * - sites-enabled/inner-tunnel: its `listen` section (127.0.0.1:18120) removed; the site
 *   stays because the eap module names it.
 * - mods-config/files/authorize: only the bench's users, `login Cleartext-Password := "…"`
 *   (with `sql`, also `Pool-Name := "…"`: sqlippool allocates from that pool).
 *
 * With `sql` on PostgreSQL (the PostgreSQL peer), also:
 * - mods-enabled/sql: Debian's mods-available/sql with `dialect = "postgresql"`,
 *   `driver = "rlm_sql_postgresql"` and the database; its stock queries
 *   (mods-config/sql/main/postgresql): radcheck/radusergroup in authorize, radacct in
 *   accounting, radpostauth in post-auth, each statement its own commit.
 * - mods-enabled/sqlippool: Debian's mods-available/sqlippool with `dialect = "postgresql"`,
 *   called in post-auth (allocation) and accounting (lease update), where the stock site
 *   has it commented out.
 *
 * With `sql` on SQLite (the SQLite rows' accounting peer: the issue names `detail` and
 * `rlm_sql` accounting on each database), also:
 * - mods-enabled/sql: Debian's mods-available/sql with `dialect = "sqlite"`,
 *   `driver = "rlm_sql_sqlite"`, the file (made beforehand with Debian's
 *   mods-config/sql/main/sqlite/schema.sql, in WAL mode) and a longer busy_timeout; its stock
 *   queries: a radacct INSERT for a Start and an UPDATE for a Stop, each its own commit
 *   (durable: SQLite's default `synchronous = FULL`). No sqlippool: the accounting peer
 *   allocates nothing, and the Access-Request row on SQLite is measured against `files`.
 */
export function writeFreeradiusConfig(c: FreeradiusConfig): void {
  cpSync(SYSTEM_RADDB, c.raddb, { recursive: true, verbatimSymlinks: true });
  for (const sub of ['log', 'log/radacct', 'run']) mkdirSync(join(c.dir, sub), { recursive: true });

  edit(join(c.raddb, 'radiusd.conf'), (text) =>
    text
      .replace(/^raddbdir = .*$/m, `raddbdir = ${c.raddb}`)
      .replace(/^logdir = .*$/m, `logdir = ${join(c.dir, 'log')}`)
      .replace(/^run_dir = .*$/m, `run_dir = ${join(c.dir, 'run')}`)
      .replace(/^\s*(user|group) = .*$/gm, '')
      .replace(/^(\s*)colourise = yes/m, '$1colourise = no'),
  );

  writeFileSync(
    join(c.raddb, 'clients.conf'),
    `client bench {\n\tipaddr = 127.0.0.1\n\tsecret = ${c.secret}\n\trequire_message_authenticator = yes\n\tnas_type = other\n}\n`,
  );

  const listen = (type: 'auth' | 'acct', port: number): string => `listen {\n\ttype = ${type}\n\tipaddr = 127.0.0.1\n\tport = ${port}\n\trecv_buff = ${RECEIVE_BUFFER}\n}\n`;
  // Debian ships sites-enabled/* as symlinks into sites-available/: write files instead.
  const site = (name: string, extra: string, change: (text: string) => string = (t) => t): void => {
    const path = join(c.raddb, 'sites-enabled', name);
    const text = withoutListenSections(readFileSync(join(c.raddb, 'sites-available', name), 'utf8'));
    rmSync(path);
    writeFileSync(path, change(text.replace(/^server \S+ \{\n/m, (open) => open + extra)));
  };
  const withIppool = (text: string): string =>
    c.sql?.dialect === 'postgresql' ? text.replace(/^(\s*)(post-auth|accounting) \{\n/gm, (open, indent: string) => `${open}${indent}\tsqlippool\n`) : text;
  site('default', listen('auth', c.authPort) + listen('acct', c.acctPort), withIppool);
  site('inner-tunnel', '');

  const pool = c.sql?.dialect === 'postgresql' ? `, Pool-Name := "${c.sql.poolName}"` : '';
  writeFileSync(join(c.raddb, 'mods-config', 'files', 'authorize'), c.users.map(([login, password]) => `${login} Cleartext-Password := "${password}"${pool}\n`).join(''));
  if (c.sql?.dialect === 'postgresql') enableSql(c.raddb, c.sql);
  if (c.sql?.dialect === 'sqlite') enableSqliteSql(c.raddb, c.sql.filename);
}

function enableSql(raddb: string, peer: Extract<SqlPeer, { dialect: 'postgresql' }>): void {
  const sql = readFileSync(join(raddb, 'mods-available', 'sql'), 'utf8')
    .replace(/^(\s*)dialect = .*$/m, '$1dialect = "postgresql"')
    .replace(/^(\s*)driver = .*$/m, '$1driver = "rlm_sql_postgresql"')
    .replace(/^(\s*)radius_db = .*$/m, `$1radius_db = "host=${peer.host} port=${peer.port} dbname=${peer.database} user=${peer.user}"`);
  writeFileSync(join(raddb, 'mods-enabled', 'sql'), sql);
  const ippool = readFileSync(join(raddb, 'mods-available', 'sqlippool'), 'utf8').replace(/^(\s*)dialect = .*$/m, '$1dialect = "postgresql"');
  writeFileSync(join(raddb, 'mods-enabled', 'sqlippool'), ippool);
}

function enableSqliteSql(raddb: string, filename: string): void {
  const sql = readFileSync(join(raddb, 'mods-available', 'sql'), 'utf8')
    .replace(/^(\s*)dialect = .*$/m, '$1dialect = "sqlite"')
    .replace(/^(\s*)driver = .*$/m, '$1driver = "rlm_sql_sqlite"')
    .replace(/^(\s*)filename = .*$/m, `$1filename = "${filename}"`)
    .replace(/^(\s*)busy_timeout = .*$/m, `$1busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
    // The bench makes the file itself (WAL mode, which the bootstrap would not set).
    .replace(/^\s*bootstrap = .*$/m, '');
  writeFileSync(join(raddb, 'mods-enabled', 'sql'), sql);
}

function edit(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

/**
 * The site's text without its `listen { … }` sections: comments are dropped first (they
 * hold braces and commented-out listen sections), then each section is cut out by counting
 * braces, as FreeRADIUS's own parser nests them.
 */
export function withoutListenSections(site: string): string {
  const lines = site.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '')).filter((line) => line.trim() !== '');
  const kept: string[] = [];
  let inside = false;
  let depth = 0;
  for (const line of lines) {
    if (!inside && /^\s*listen\s*\{/.test(line)) inside = true;
    if (!inside) {
      kept.push(line);
      continue;
    }
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    if (depth === 0) inside = false;
  }
  return kept.join('\n') + '\n';
}
