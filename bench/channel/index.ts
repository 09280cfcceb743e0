// Secure-channel exchanges per second, and the time from negotiation (the merchant's
// POST /v1/channel/exchanges) to the first item delivered (the card at the merchant's
// acquirer hook), through the built-in exchange and through Kamailio, on SQLite and on
// PostgreSQL, in one run. Latencies count successful exchanges only, each matched to its
// own card by the exchange id; failures are reported with their causes.
//   node -C sideband-source --import tsx bench/channel/index.ts [exchanges-per-row] [only-rows-matching]
import { availableParallelism, loadavg } from 'node:os';
import { PROVIDER, SHOP, EAVESDROPPER, world, type World } from '../../test/support/channel-world.ts';
import type { TestDialect } from '../../test/support/databases.ts';
import { ensureDebianPeers } from '../../scripts/debian-peers.js';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

// Before test/support/kamailio.ts looks for the binary.
ensureDebianPeers({ kamailio: 'kamailio' });
const { haveKamailio, startKamailio } = await import('../../test/support/kamailio.ts');
type RunningKamailio = import('../../test/support/kamailio.ts').RunningKamailio;

// Each authorization is a new shopper with an address from a /24: two rows of 100 per gateway fit.
const total = Number(process.argv[2] ?? 100);
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const only = process.argv[3];
const wanted = (label: string): boolean => only === undefined || label.includes(only);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function drainWebhooks(w: World): Promise<void> {
  const db = w.m.t.gateway.context.store.db;
  for (let i = 0; i < 100; i++) {
    await w.m.t.gateway.certification.deliverWebhooks();
    const left = await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    if (Number(left.n) === 0) return;
  }
}

async function run(label: string, w: World, concurrency: number): Promise<string> {
  const authorizations = await Promise.all(Array.from({ length: total }, () => w.authorizationId()));
  // Their webhooks are delivered now, not during the measurement: each delivery's commit
  // would stall the exchanges' event loop (it is the same process).
  await drainWebhooks(w);
  const firstItem: number[] = [];
  const whole: number[] = [];
  const failures = new Map<string, number>();
  const failed = (cause: string) => failures.set(cause, (failures.get(cause) ?? 0) + 1);
  let next = 0;
  const loadBefore = load();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < authorizations.length) {
      const id = authorizations[next++]!;
      const started = process.hrtime.bigint();
      let exchangeId: string;
      let result;
      try {
        const requested = await w.channel.requestCard(id, 1);
        exchangeId = requested.exchangeId;
        result = await requested.outcome;
      } catch (e) {
        failed((e as { code?: string }).code ?? (e as Error).message);
        continue;
      }
      const ended = process.hrtime.bigint();
      const at = w.cardAt.get(exchangeId);
      if (!result.ok) failed(result.cause);
      else if (at === undefined) failed('no-card');
      else {
        firstItem.push(Number(at - started) / 1e6);
        whole.push(Number(ended - started) / 1e6);
      }
    }
  }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  firstItem.sort((a, b) => a - b);
  whole.sort((a, b) => a - b);
  const failedText = failures.size ? `, failed: ${[...failures].map(([c, n]) => `${c} ${n}`).join(', ')}` : '';
  return `${label.padEnd(30)} concurrency ${concurrency}  ${(firstItem.length / seconds).toFixed(1).padStart(5)} exchanges/s  negotiation→first item p50 ${pct(firstItem, 50).toFixed(1).padStart(5)} ms p99 ${pct(firstItem, 99).toFixed(1).padStart(5)} ms max ${pct(firstItem, 100).toFixed(1).padStart(5)} ms  whole exchange p50 ${pct(whole, 50).toFixed(1).padStart(5)} ms  (${firstItem.length} of ${total} ok${failedText}; load ${loadBefore} → ${load()})`;
}

const rows: string[] = [];
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  if (!wanted(`built-in exchange, ${dialect}`)) continue;
  const w = await world(`bench-channel-builtin-${dialect}`, undefined, dialect);
  try {
    // Concurrency is bounded by the merchant's pool: two numbers.
    for (const c of [1, 2]) rows.push(await run(`built-in exchange, ${dialect}`, w, c));
  } finally {
    await w.dispose();
  }
}
if (!wanted('Kamailio, sqlite') && !wanted('Kamailio, postgres')) {
  // not asked for
} else if (haveKamailio) {
  let k: RunningKamailio | undefined;
  try {
    k = await startKamailio([
      { username: PROVIDER.username, password: PROVIDER.password, numbers: [PROVIDER.lineNumber, ...PROVIDER.numbers] },
      { username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] },
      { username: EAVESDROPPER.username, password: EAVESDROPPER.password, numbers: EAVESDROPPER.numbers },
    ], 'bench-channel-kamailio');
    for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
      if (!wanted(`Kamailio, ${dialect}`)) continue;
      const w = await world(`bench-channel-kamailio-${dialect}`, k, dialect);
      try {
        for (const c of [1, 2]) rows.push(await run(`Kamailio, ${dialect}`, w, c));
      } finally {
        await w.dispose();
      }
    }
  } finally {
    await k?.stop();
  }
} else {
  rows.push('Kamailio                       not installed (apt-get install kamailio)');
}
console.log(`\nsecure channel: fig. 4 exchanges (negotiate, reserve, SIP call, TLS 1.3 media, card one way, goods back, BYE), loopback, ${total} per row; ${availableParallelism()} cores, load average now ${load()}:\n${rows.join('\n')}`);
