// Sideband's RADIUS server against FreeRADIUS under the same radclient load, on loopback:
// Access-Requests, Accounting-Request Starts and Stops per second, and the resolution index
// with a million bindings. See README.md beside this file.
//   node -C sideband-source --import tsx bench/radius/index.ts [--dialects sqlite,postgres] [--subscribers 2000]
//        [--requests 40000] [--per-file 2000] [--processes 1] [--parallel 128]
//        [--bindings 1000000] [--cpu-prof DIR]
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ACCOUNTING_BASE, SECRET, login, password } from './bench-data.ts';
import { FREERADIUS, startFreeradius } from './freeradius-process.ts';
import { cpuPerRequest, describe, measure, perSecond, type Kind, type Measurement } from './measure.ts';
import { residentBytes } from './process-usage.ts';
import { RADCLIENT, stopRadclients, writeRequestFiles, type RequestFile } from './radclient-load.ts';
import type { ResolutionFigures } from './resolution-phase.ts';
import { ChildLines, exited, type ServerUnderTest } from './server-under-test.ts';
import { startSideband } from './sideband-process.ts';
import { ensureDebianPeers } from '../../scripts/debian-peers.js';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const { values: args } = parseArgs({
  options: {
    dialects: { type: 'string', default: 'sqlite,postgres' },
    subscribers: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '40000' },
    'per-file': { type: 'string', default: '2000' },
    processes: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '128' },
    bindings: { type: 'string', default: '1000000' },
    'cpu-prof': { type: 'string' },
  },
});
for (const name of ['subscribers', 'requests', 'per-file', 'processes', 'parallel', 'bindings'] as const) {
  if (!(Number(args[name]) >= 1)) {
    console.error(`--${name} must be a positive number, not ${JSON.stringify(args[name])}`);
    process.exit(2);
  }
}
ensureDebianPeers({ radclient: 'freeradius-utils', freeradius: 'freeradius' });
for (const program of [RADCLIENT, FREERADIUS]) {
  if (!existsSync(program)) {
    console.error(`${program} is missing: apt-get install freeradius freeradius-utils`);
    process.exit(2);
  }
}
const SUBSCRIBERS = Number(args.subscribers);
const REQUESTS = Number(args.requests);
const WARMUP = Math.min(4000, REQUESTS);
const PER_FILE = Number(args['per-file']);
const PHASE_SECONDS = 15;
const BENCH_SECONDS = 420;
const CORES = availableParallelism();
const load = { secret: SECRET, processes: Number(args.processes), parallel: Number(args.parallel), deadlineSeconds: PHASE_SECONDS };

const work = mkdtempSync(join(tmpdir(), 'sideband-bench-radius-'));
const live = new Set<ServerUnderTest>();
let cleaned: Promise<void> | null = null;
let aborted = false;
const cleanUp = (): Promise<void> =>
  (cleaned ??= (async () => {
    stopRadclients();
    // Let the servers answer what is already in their sockets before they stop.
    if (live.size > 0) await new Promise((r) => setTimeout(r, 500));
    await Promise.allSettled([...live].map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  })());
const abort = (why: string): void => {
  aborted = true;
  console.error(`\nbench stopped: ${why}`);
  void cleanUp().finally(() => process.exit(1));
};
process.once('SIGINT', () => abort('interrupted'));
process.once('SIGTERM', () => abort('terminated'));
setTimeout(() => abort(`still running after ${BENCH_SECONDS} s`), BENCH_SECONDS * 1000).unref();

const dotted = (v: number): string => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
const access = (n: number): string[] => {
  const i = n % SUBSCRIBERS;
  // Message-Authenticator = 0x00 makes radclient sign the request (RFC 3579 §3.2).
  return [`User-Name = "${login(i)}"`, `User-Password = "${password(i)}"`, 'NAS-IP-Address = 127.0.0.1', `NAS-Port = ${i}`, 'Message-Authenticator = 0x00'];
};
/** Starts of sessions the servers never authenticated, each with its own Acct-Session-Id and address. */
const start = (offset: number) => (n: number): string[] => {
  const i = n % SUBSCRIBERS;
  return ['Acct-Status-Type = Start', `Acct-Session-Id = "bench-${offset + n}"`, `User-Name = "${login(i)}"`, `Framed-IP-Address = ${dotted(ACCOUNTING_BASE + offset + n)}`, 'NAS-IP-Address = 127.0.0.1', `NAS-Port = ${i}`];
};
/**
 * Stops of the sessions `start(offset)` began, in the same order: an hour each (rlm_sql
 * logs no Stop of a session without time) and some traffic, as a NAS reports a log-out.
 */
const stop = (offset: number) => (n: number): string[] => {
  const [, session, user, address, nas, port] = start(offset)(n);
  return ['Acct-Status-Type = Stop', session!, user!, address!, nas!, port!, 'Acct-Session-Time = 3600', `Acct-Input-Octets = ${1_000_000 + n}`,
    `Acct-Output-Octets = ${20_000_000 + n}`, 'Acct-Input-Packets = 2000', 'Acct-Output-Packets = 16000', 'Acct-Terminate-Cause = User-Request'];
};
const files = {
  warmAccess: writeRequestFiles(work, 'warm-access', WARMUP, PER_FILE, access),
  warmStart: writeRequestFiles(work, 'warm-start', WARMUP, PER_FILE, start(0)),
  warmStop: writeRequestFiles(work, 'warm-stop', WARMUP, PER_FILE, stop(0)),
  access: writeRequestFiles(work, 'access', REQUESTS, PER_FILE, access),
  start: writeRequestFiles(work, 'start', REQUESTS, PER_FILE, start(WARMUP)),
  stop: writeRequestFiles(work, 'stop', REQUESTS, PER_FILE, stop(WARMUP)),
};
const warmUps: Record<Kind, RequestFile[]> = { 'Access-Request': files.warmAccess, 'Accounting-Request Start': files.warmStart, 'Accounting-Request Stop': files.warmStop };
const measured: Record<Kind, RequestFile[]> = { 'Access-Request': files.access, 'Accounting-Request Start': files.start, 'Accounting-Request Stop': files.stop };
const EVERY_KIND: Kind[] = ['Access-Request', 'Accounting-Request Start', 'Accounting-Request Stop'];
const ACCOUNTING: Kind[] = ['Accounting-Request Start', 'Accounting-Request Stop'];

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const results: Measurement[] = [];
const notes: string[] = [];

/**
 * Warms the server up (JIT, thread pool, caches) on separate requests, then measures each
 * kind, in order. The Stops end the sessions the Starts before them began: where the Starts
 * stopped at the deadline (a slow peer), only the Stops of the files sent go, so that every
 * Stop is of a session the server saw start.
 */
async function phase(server: ServerUnderTest, kinds: Kind[] = EVERY_KIND): Promise<void> {
  live.add(server);
  try {
    for (const round of [warmUps, measured]) {
      let startFilesSent: number | undefined;
      for (const kind of kinds) {
        const sent = kind === 'Accounting-Request Stop' && startFilesSent !== undefined ? round[kind].slice(0, startFilesSent) : round[kind];
        const m = await measure(server, kind, { ...load, files: sent });
        if (aborted) return;
        if (kind === 'Accounting-Request Start') startFilesSent = sent.length - m.skippedFiles;
        if (round === measured) {
          results.push(m);
          console.log(describe(m, CORES));
        } else if (m.accepted !== m.requests) console.log(`${server.name}: warm-up ${kind}: of ${m.requests} requests ${m.accepted} accepted, ${m.rejected} rejected, ${m.lost} lost`);
      }
    }
    const records = Object.entries(await server.records()).map(([k, v]) => `${k} ${v.toLocaleString('en')}`);
    console.log(`${server.name.padEnd(17)} recorded: ${records.join(', ')}; resident memory ${mb(residentBytes(server.pid))}\n`);
  } finally {
    await server.stop();
    live.delete(server);
  }
}

async function resolution(): Promise<ResolutionFigures> {
  const script = fileURLToPath(new URL('./resolution-phase.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', '--conditions=sideband-source', '--import', 'tsx', script, args.bindings, '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = new ChildLines(child, 'the resolution phase');
  try {
    return JSON.parse(await lines.next(120_000, 'loading and resolving')) as ResolutionFigures;
  } finally {
    await exited(child, 5_000);
  }
}

try {
  console.log(`${SUBSCRIBERS.toLocaleString('en')} subscribers; per kind ${WARMUP.toLocaleString('en')} warm-up then ${REQUESTS.toLocaleString('en')} measured requests,` +
    ` ${PER_FILE} per radclient file, ${load.processes} radclient process(es) at -p ${load.parallel}; ${CORES} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const frDir = join(work, 'freeradius');
  mkdirSync(frDir);
  await phase(await startFreeradius(frDir, SUBSCRIBERS));

  for (const dialect of args.dialects.split(',').filter(Boolean) as Array<'sqlite' | 'postgres'>) {
    if (aborted) break;
    // The PostgreSQL rows' peer: rlm_sql and sqlippool on the same server, same pool size.
    // The SQLite accounting rows' peer: detail and rlm_sql on an SQLite file (the
    // Access-Request row on SQLite is measured against `files`, above).
    const peerName = dialect === 'postgres' ? 'FreeRADIUS sql' : 'FreeRADIUS sqlite';
    const sqlDir = join(work, dialect === 'postgres' ? 'freeradius-sql' : 'freeradius-sqlite');
    mkdirSync(sqlDir);
    try {
      await phase(await startFreeradius(sqlDir, SUBSCRIBERS, { sql: dialect }), dialect === 'postgres' ? EVERY_KIND : ACCOUNTING);
    } catch (e) {
      notes.push(`${peerName} skipped: ${(e as Error).message.split('\n')[0]}`);
      console.log(`${notes.at(-1)}\n`);
    }
    if (aborted) break;
    let server;
    try {
      server = await startSideband({ dialect, subscribers: SUBSCRIBERS, ...(args['cpu-prof'] ? { cpuProfileDir: args['cpu-prof'] } : {}) });
    } catch (e) {
      notes.push(`Sideband ${dialect} skipped: ${(e as Error).message.split('\n')[0]}`);
      console.log(`${notes.at(-1)}\n`);
      continue;
    }
    console.log(`Sideband ${dialect}: ${SUBSCRIBERS.toLocaleString('en')} subscribers provisioned in ${server.ready.provisionSeconds.toFixed(1)} s; resident memory ${mb(server.ready.rss)}`);
    await phase(server);
  }

  if (aborted) throw new Error('aborted');
  const r = await resolution();
  const rate = (x: { lookups: number; seconds: number }): string => `${((x.lookups / x.seconds) / 1e6).toFixed(2)} M lookups/s`;
  console.log(`Resolution: ${r.bindings.toLocaleString('en')} bindings (${r.openBindings.toLocaleString('en')} open) on ${r.addresses.toLocaleString('en')} addresses loaded in ${r.loadSeconds.toFixed(2)} s`);
  console.log(`  resident memory ${mb(r.rssBefore)} before, ${mb(r.rssAfter)} after (+${mb(r.rssAfter - r.rssBefore)}; JS heap and buffers ${mb(r.heapAfter)})`);
  console.log(`  hits ${rate(r.hits)} (${r.hits.right.toLocaleString('en')} of ${r.hits.lookups.toLocaleString('en')} right), misses ${rate(r.misses)}\n`);

  summary(r);
} catch (e) {
  if (!aborted) console.error(e);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

function summary(r: ResolutionFigures): void {
  // Each Sideband row against its own peer (issue 16): on SQLite Access-Requests against
  // FreeRADIUS with `files` and accounting against FreeRADIUS with `detail` and rlm_sql on
  // SQLite; on PostgreSQL against FreeRADIUS with rlm_sql and sqlippool on the same server.
  const peerOf = (server: string, kind: Kind): string | undefined =>
    server === 'Sideband sqlite' ? (kind === 'Access-Request' ? 'FreeRADIUS' : 'FreeRADIUS sqlite') : server === 'Sideband postgres' ? 'FreeRADIUS sql' : undefined;
  const rate = new Map(results.map((m) => [`${m.server}|${m.kind}`, perSecond(m)]));
  const cpu = new Map(results.map((m) => [`${m.server}|${m.kind}`, cpuPerRequest(m)]));
  const row = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(i === 0 ? 17 : 25) : c.padStart(10))).join(' ');
  console.log(row(['server', 'kind', 'requests', 'seconds', 'req/s', 'ratio', 'µs CPU/req', 'CPU ratio', 'µs PG/req']));
  for (const m of results) {
    const peer = peerOf(m.server, m.kind);
    const base = peer ? rate.get(`${peer}|${m.kind}`) : undefined;
    const baseCpu = peer ? cpu.get(`${peer}|${m.kind}`) : undefined;
    const database = m.server.endsWith('postgres') || m.server.endsWith('sql') ? Math.round((m.databaseCpuSeconds / Math.max(1, m.accepted)) * 1e6).toLocaleString('en') : '';
    console.log(row([m.server, m.kind, m.accepted.toLocaleString('en'), m.seconds.toFixed(2), Math.round(perSecond(m)).toLocaleString('en'),
      base ? (perSecond(m) / base).toFixed(2) : '', Math.round(cpuPerRequest(m)).toLocaleString('en'), baseCpu ? (baseCpu / cpuPerRequest(m)).toFixed(2) : '', database]));
  }
  console.log('ratio: Sideband req/s ÷ its peer\'s req/s for the same kind (SQLite: FreeRADIUS with files for Access-Requests, FreeRADIUS sqlite for accounting; PostgreSQL: FreeRADIUS sql).');
  // The accounting rows on SQLite against the peer that writes no database, for comparison with earlier runs.
  const againstFiles = results.filter((m) => m.server === 'Sideband sqlite' && m.kind !== 'Access-Request' && rate.has(`FreeRADIUS|${m.kind}`))
    .map((m) => `${m.kind.replace('Accounting-Request ', '')} ${(perSecond(m) / rate.get(`FreeRADIUS|${m.kind}`)!).toFixed(2)}×`);
  if (againstFiles.length > 0) console.log(`Sideband sqlite's accounting against FreeRADIUS with files (detail, no database, no fsync): ${againstFiles.join(', ')}.`);
  console.log('CPU ratio: the peer\'s server CPU per request ÷ Sideband\'s (above 1: Sideband spends less). µs PG/req: PostgreSQL\'s processes.');
  console.log('radclient polls without sleeping while requests are outstanding: it holds most of a core at any rate, and the server gets the rest.');
  console.log(`resolution, ${r.bindings.toLocaleString('en')} bindings: ${Math.round(r.hits.lookups / r.hits.seconds).toLocaleString('en')} hits/s, ${Math.round(r.misses.lookups / r.misses.seconds).toLocaleString('en')} misses/s, resident ${mb(r.rssAfter)} (+${mb(r.rssAfter - r.rssBefore)})`);
  for (const note of notes) console.log(note);
}
