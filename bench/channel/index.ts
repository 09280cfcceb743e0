// Secure-channel exchanges per second, and the time from negotiation (the merchant's
// POST /v1/channel/exchanges) to the first item delivered (the card at the merchant's
// acquirer hook), through the built-in exchange and through Kamailio, in one run.
//   node -C sideband-source --import tsx bench/channel/index.ts [exchanges-per-run]
import { PROVIDER, SHOP, EAVESDROPPER, world, type World } from '../../test/support/channel-world.ts';
import { ensureDebianPeers } from '../../scripts/debian-peers.js';

// Before test/support/kamailio.ts looks for the binary.
ensureDebianPeers({ kamailio: 'kamailio' });
const { haveKamailio, startKamailio } = await import('../../test/support/kamailio.ts');
type RunningKamailio = import('../../test/support/kamailio.ts').RunningKamailio;

const total = Number(process.argv[2] ?? 40);
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function run(label: string, w: World, concurrency: number): Promise<string> {
  const authorizations = await Promise.all(Array.from({ length: total }, () => w.authorizationId()));
  const firstItem: number[] = [];
  const whole: number[] = [];
  let failures = 0;
  const claimed = new Set<bigint>();
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < authorizations.length) {
      const id = authorizations[next++]!;
      const started = process.hrtime.bigint();
      const { outcome } = await w.channel.requestCard(id, 1);
      const result = await outcome;
      if (!result.ok) failures++;
      // The card of this exchange: the hook fired after `started`, and before the outcome.
      const at = w.cardTimes.find((t) => t >= started && !claimed.has(t));
      if (at !== undefined) {
        claimed.add(at);
        firstItem.push(Number(at - started) / 1e6);
      }
      whole.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  firstItem.sort((a, b) => a - b);
  whole.sort((a, b) => a - b);
  return `${label.padEnd(18)} concurrency ${concurrency}  ${(total / seconds).toFixed(1).padStart(5)} exchanges/s  negotiation→first item p50 ${pct(firstItem, 50).toFixed(1)} ms p99 ${pct(firstItem, 99).toFixed(1)} ms  whole exchange p50 ${pct(whole, 50).toFixed(1)} ms  (${total}, ${failures} failed)`;
}

const rows: string[] = [];
{
  const w = await world('bench-channel-builtin');
  try {
    // Concurrency is bounded by the merchant's pool: two numbers.
    for (const c of [1, 2]) rows.push(await run('built-in exchange', w, c));
  } finally {
    await w.dispose();
  }
}
if (haveKamailio) {
  let k: RunningKamailio | undefined;
  try {
    k = await startKamailio([
      { username: PROVIDER.username, password: PROVIDER.password, numbers: [PROVIDER.lineNumber, ...PROVIDER.numbers] },
      { username: SHOP.username, password: SHOP.password, numbers: [SHOP.lineNumber, ...SHOP.numbers] },
      { username: EAVESDROPPER.username, password: EAVESDROPPER.password, numbers: EAVESDROPPER.numbers },
    ], 'bench-channel-kamailio');
    const w = await world('bench-channel-kamailio', k);
    try {
      for (const c of [1, 2]) rows.push(await run('Kamailio', w, c));
    } finally {
      await w.dispose();
    }
  } finally {
    await k?.stop();
  }
} else {
  rows.push('Kamailio               not installed (apt-get install kamailio)');
}
console.log(`\nsecure channel: fig. 4 exchanges (negotiate, reserve, SIP call, TLS 1.3 media, card one way, goods back, BYE), loopback:\n${rows.join('\n')}`);
