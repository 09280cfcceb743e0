// The Sideband side of the RADIUS bench, in a process of its own so that the driver and
// radclient do not share its event loop. Starts the whole gateway on ephemeral loopback
// ports over a throwaway database, provisions the bench's pool, NAS and subscribers, and
// prints one JSON line: { auth, acct, provisionSeconds }. Then, for each line "records" on
// stdin, prints what it recorded as JSON; when stdin closes (also when the driver dies) it
// stops the gateway, drops the database and exits.
//   node -C sideband-source --import tsx bench/radius/sideband-server.ts sqlite|postgres SUBSCRIBERS SECRET
import { createInterface } from 'node:readline';
import { startTestGateway, type TestGateway } from '../../test/support/test-gateway.ts';
import { POOL_CIDR, login, password } from './bench-data.ts';

export interface SidebandReady {
  auth: string;
  acct: string;
  provisionSeconds: number;
  /** Resident memory once provisioned, before any request. */
  rss: number;
}

export interface SidebandRecords {
  sessions: number;
  bindings: number;
  openSessions: number;
  indexedBindings: number;
}


const [dialect, count, secret] = process.argv.slice(2);
if ((dialect !== 'sqlite' && dialect !== 'postgres') || !count || !secret) {
  console.error('usage: sideband-server.ts sqlite|postgres SUBSCRIBERS SECRET');
  process.exit(2);
}

// Listened to before the gateway starts, so that a driver gone during start-up is noticed.
let driverGone = false;
const input = createInterface({ input: process.stdin });
input.on('close', () => {
  driverGone = true;
  void stop();
});
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

let started: TestGateway | undefined;
const t = (started = await startTestGateway(dialect, `bench-radius-${dialect}`, { radius: { holdDownSeconds: 0 } }));
input.on('line', (line) => {
  if (line.trim() === 'records') void records().then((r) => process.stdout.write(JSON.stringify(r) + '\n'));
});

/** The gateway stopped and its database was dropped, but something threw on the way. */
const EXIT_THREW_WHILE_STOPPING = 3;

let stopping: Promise<void> | null = null;
let faults = 0;
function stop(): Promise<void> {
  if (stopping) return stopping;
  // Before the gateway is up there is nothing to stop yet: the start-up checks driverGone.
  if (!started) return Promise.resolve();
  // Stopping with requests in flight has thrown from the gateway (a reply sent on a closed
  // socket): the database is dropped all the same, and the exit status (3) tells.
  process.on('uncaughtException', (e) => {
    if (faults++ === 0) console.error(`threw while stopping: ${(e as Error).stack?.split('\n').slice(0, 4).join(' ')}`);
  });
  setTimeout(() => {
    console.error('the gateway did not stop within 10 s');
    process.exit(1);
  }, 10_000).unref();
  stopping = started.dispose().then(
    () => process.exit(faults === 0 ? 0 : EXIT_THREW_WHILE_STOPPING),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
  return stopping;
}

async function records(): Promise<SidebandRecords> {
  const db = t.gateway.context.store.db;
  const count = async (table: 'sessions' | 'bindings'): Promise<number> =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const sessions = t.gateway.authentication.sessions;
  return { sessions: await count('sessions'), bindings: await count('bindings'), openSessions: sessions.openSessions, indexedBindings: sessions.index.size };
}

try {
  const began = process.hrtime.bigint();
  const ctx = t.gateway.context;
  await ctx.network.addPool({ name: 'bench', cidr: POOL_CIDR });
  await ctx.network.addNas({ name: 'bench', address: '127.0.0.1/32', secret, pool: 'bench' });
  const subscribers = Number(count);
  // Eight at a time, so that scrypt (on libuv's threads) overlaps the store's writes.
  for (let i = 0; i < subscribers && !driverGone; i += 8) {
    const batch = [];
    for (let k = i; k < Math.min(i + 8, subscribers); k++) batch.push(ctx.subscribers.add({ login: login(k), password: password(k) }));
    await Promise.all(batch);
  }
  if (driverGone) await stop();
  await t.gateway.authentication.nas.load();
  const { radiusAuth, radiusAcct } = t.gateway.listen;
  const ready: SidebandReady = { auth: radiusAuth!, acct: radiusAcct!, provisionSeconds: Number(process.hrtime.bigint() - began) / 1e9, rss: process.memoryUsage().rss };
  process.stdout.write(JSON.stringify(ready) + '\n');
} catch (e) {
  console.error(e);
  await stop();
}
