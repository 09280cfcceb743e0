// Throughput of one, two and three gateway processes sharing one PostgreSQL database:
// RADIUS log-ins (radclient, Access-Request with durable address allocation) and signed
// authorizations (SDK, concurrency 32), the load spread evenly over the gateways running.
//   node -C sideband-source --import tsx bench/cluster/index.ts [seconds-per-level]
//
// Only successes count (Access-Accepts; authorizations answered `captured`); everything
// else is reported by its reason. Each level adds one gateway to those already running.
// On this machine all of them, PostgreSQL and the load generators share the same cores:
// the figures show what a second gateway costs and gives there, not a cluster's scaling.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { loadConfig } from '../../src/config/load-config.ts';
import { openContext } from '../../src/gateway/context.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { throwawayDatabase } from '../../test/support/databases.ts';
import { RestartableGateway } from '../../test/support/restartable-gateway.ts';
import { ephemeralPorts } from '../../test/support/spawn-gateway.ts';
import { futureExpiry, testCardNumber } from '../../test/support/test-cards.ts';
import { runLoad, writeRequestFiles } from '../radius/radclient-load.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const seconds = Number(process.argv[2] ?? 5);
const SHOPPERS = 48;
const LOGINS_PER_LEVEL = 3000;
const CONCURRENCY = 32;
const SECRET = 'cluster-bench-secret';

const database = await throwawayDatabase('postgres');
const work = mkdtempSync(join(tmpdir(), 'sideband-cluster-bench-'));
const dirs = [database.dataDir, mkdtempSync(join(tmpdir(), 'sideband-cluster-bench-')), mkdtempSync(join(tmpdir(), 'sideband-cluster-bench-'))];
const configFile = join(work, 'cluster.json');
writeFileSync(configFile, JSON.stringify({ merchantApi: { destinationCheck: 'off', publicOrigin: 'https://pay.bench.example' }, logLevel: 'warn' }));
const keyring = join(dirs[0]!, 'master-keys.json');
const args = (i: number) => ['--config', configFile, '--data-dir', dirs[i]!, '--database-url', database.databaseUrl!];
const gateways: RestartableGateway[] = [];

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const counted = (m: Map<string, number>): string => (m.size === 0 ? 'none' : [...m].map(([k, n]) => `${k} ×${n}`).join(', '));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

try {
  gateways.push(await RestartableGateway.start(args(0), ephemeralPorts));
  const ctx = await openContext(loadConfig({ env: {}, overrides: { dataDir: work, databaseUrl: database.databaseUrl, demo: false, vault: { keyFile: keyring } } }), createLogger({ level: 'warn' }), { env: {} });
  await ctx.network.addPool({ name: 'bench', cidr: '10.64.0.0/16' });
  await ctx.network.addNas({ name: 'bench-bng', address: '127.0.0.1', secret: SECRET, pool: 'bench' });
  for (let i = 0; i < SHOPPERS; i++) {
    await ctx.subscribers.add({ login: `shopper-${i}`, password: `shopper-${i}-password`, spendingLimit: 1_000_000_000, autoApproveLimit: 1_000_000_000 });
    await ctx.subscribers.addCard(`shopper-${i}`, { number: testCardNumber(200 + i), expiry: futureExpiry(), holderName: 'Bench Shopper' });
  }
  const logins = 20;
  for (let i = 0; i < logins; i++) await ctx.subscribers.add({ login: `login-${i}`, password: `login-${i}-password` });
  // The shoppers log in once; their addresses are what the merchant names.
  const files = writeRequestFiles(work, 'shoppers', SHOPPERS, SHOPPERS, (n) => [`User-Name = "shopper-${n}"`, `User-Password = "shopper-${n}-password"`, `NAS-Port = ${n + 1}`, 'Message-Authenticator = 0x00']);
  const signedIn = await runLoad({ server: gateways[0]!.where().radiusAuth!, command: 'auth', secret: SECRET, files, processes: 1, parallel: 16, deadlineSeconds: 30 });
  if (signedIn.accepted !== SHOPPERS) throw new Error(`only ${signedIn.accepted} of ${SHOPPERS} shoppers logged in: ${signedIn.failures.join('; ')}`);
  const addresses = (await ctx.store.db.selectFrom('sessions').select('framed_address').where('login', 'like', 'shopper-%').execute()).map((r) => r.framed_address!);
  const demo = JSON.parse(readFileSync(join(dirs[0]!, 'demo.json'), 'utf8')) as { merchant: { keyId: string; privateKeyPath: string } };
  const privateKey = readFileSync(demo.merchant.privateKeyPath, 'utf8');

  const rows: string[] = [];
  let loginBase = 0;
  for (let n = 1; n <= 3; n++) {
    if (gateways.length < n) gateways.push(await RestartableGateway.start(args(n - 1), { ...ephemeralPorts, SIDEBAND_VAULT_KEY_FILE: keyring }));
    const running = gateways.slice(0, n);

    // RADIUS: distinct NAS ports, so each request is a new session and a new durable allocation.
    const base = loginBase;
    loginBase += LOGINS_PER_LEVEL;
    const per = Math.ceil(LOGINS_PER_LEVEL / n);
    const load0 = loadavg()[0]!;
    const radius = await Promise.all(running.map((g, k) => {
      const requestFiles = writeRequestFiles(work, `level${n}-gw${k}`, per, 1000, (i) => {
        const who = (base + k * per + i) % logins;
        return [`User-Name = "login-${who}"`, `User-Password = "login-${who}-password"`, `NAS-Port = ${100_000 + base + k * per + i}`, 'Message-Authenticator = 0x00'];
      });
      return runLoad({ server: g.where().radiusAuth!, command: 'auth', secret: SECRET, files: requestFiles, processes: 2, parallel: 32, deadlineSeconds: 120 });
    }));
    const accepted = radius.reduce((s, r) => s + r.accepted, 0);
    const radiusSeconds = Math.max(...radius.map((r) => r.seconds));
    const radiusFailures = radius.flatMap((r) => r.failures);

    // Authorizations: CONCURRENCY workers, each bound to one gateway in turn.
    const clients = running.map((g) => new SidebandClient({ baseUrl: 'https://pay.bench.example', keyId: demo.merchant.keyId, privateKey, maxRetries: 0, fetch: g.fetchFor() }));
    const latencies: number[] = [];
    const declines = new Map<string, number>();
    const errors = new Map<string, number>();
    let next = 0;
    const until = Date.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
      const client = clients[w % n]!;
      while (Date.now() < until) {
        const address = addresses[next++ % addresses.length]!;
        const s = performance.now();
        try {
          const a = await client.authorizations.create({ customer: { address, observedAt: new Date().toISOString() }, amount: 100, currency: 'EUR', capture: 'automatic' }, { idempotencyKey: randomUUID() });
          if (a.status === 'captured') latencies.push(performance.now() - s);
          else bump(declines, `${a.status} ${a.reason ?? ''}`.trim());
        } catch (e) {
          bump(errors, e instanceof SidebandApiError ? `${e.status} ${e.code}` : `network ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name}`);
        }
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const row = `${n} gateway${n > 1 ? 's' : ' '}  Access-Accept ${(accepted / radiusSeconds).toFixed(0).padStart(6)}/s (${accepted} of ${LOGINS_PER_LEVEL}${radiusFailures.length ? `; ${radiusFailures.slice(0, 2).join('; ')}` : ''})   authorizations ${(latencies.length / elapsed).toFixed(0).padStart(5)}/s p50 ${pct(latencies, 50).toFixed(1)} ms p99 ${pct(latencies, 99).toFixed(1)} ms (declined: ${counted(declines)}; errors: ${counted(errors)})   load before ${load0.toFixed(2)}`;
    console.log(row);
    rows.push(row);
  }
  await ctx.close();
  console.log(`\ncluster on one PostgreSQL database, ${cpus().length} cores, ${seconds} s of authorizations per level; load spread evenly over the gateways running:\n${rows.join('\n')}`);
} finally {
  await Promise.all(gateways.map((g) => g.stop()));
  for (const d of [work, ...dirs.slice(1)]) rmSync(d, { recursive: true, force: true });
  await database.drop();
}
