// The Sideband side of the flow bench, in a process of its own so that the sender does
// not share its event loop. Starts the whole gateway on ephemeral loopback ports over a
// throwaway SQLite database (under $TMPDIR, which the driver owns and removes), registers
// 127.0.0.1 as an exporter, opens one session per subscriber, prints one JSON line
// ({ ipfix, operatorHttp, addresses, provisionSeconds }) and serves until SIGTERM or its
// stdin closes (so that it never outlives a driver that died). A line `settle N` on stdin
// waits until N datagrams have been decoded (or none came for QUIET_MS), writes every
// destination changed (the final flush), then prints `settled`.
//   node -C sideband-source --import tsx bench/flows/sideband-collector.ts SUBSCRIBERS
import { createInterface } from 'node:readline';
import { startTestGateway } from '../../test/support/test-gateway.ts';

const QUIET_MS = 300;

const subscribers = Number(process.argv[2]);
if (!Number.isInteger(subscribers) || subscribers < 1) {
  console.error('usage: sideband-collector.ts SUBSCRIBERS');
  process.exit(2);
}

const t = await startTestGateway('sqlite', 'bench-flows');
let stopping: Promise<void> | null = null;
const stop = (): Promise<void> => (stopping ??= t.dispose().finally(() => process.exit(0)));
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());

let datagrams = 0;
let lastDatagram = 0;
async function settle(expected: number): Promise<void> {
  while (datagrams < expected && Date.now() - lastDatagram < QUIET_MS) await new Promise((r) => setTimeout(r, 1));
  await t.gateway.tracking.flush();
  // A write that failed is kept for the next flush, not thrown: a run whose final write
  // did not land must not be timed as if it had (the driver's deadline marks it timed out).
  const unwritten = t.gateway.tracking.pendingWriteCount;
  if (unwritten > 0) throw new Error(`the final flush left ${unwritten} destination rows unwritten`);
  process.stdout.write('settled\n');
}
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, n] = line.split(' ');
  if (command === 'settle') settle(Number(n)).catch((e) => console.error(e));
});

try {
  const began = process.hrtime.bigint();
  const ctx = t.gateway.context;
  await ctx.exporters.add({ name: 'bench', address: '127.0.0.1/32' });
  await ctx.exporters.load();
  // RFC 6598 shared address space: only allocated to sessions here, never contacted.
  const pool = await ctx.network.addPool({ name: 'bench', cidr: '100.64.0.0/16' });
  const nas = await ctx.network.addNas({ name: 'bench', address: '127.0.0.1', secret: 'bench-flows-secret', pool: 'bench' });
  // Bindings that began ten minutes ago hold every flow the driver dates within the last minute.
  const now = Date.now() - 10 * 60_000;
  const addresses: string[] = [];
  for (let i = 0; i < subscribers; i++) {
    const login = `flows${i}`;
    const subscriber = await ctx.subscribers.add({ login, password: `flows-password-${i}` });
    const { unit } = await t.gateway.authentication.sessions.authorize({ subscriberId: subscriber.id, login, nasId: nas.id, poolId: pool.id, nasPort: i, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now });
    if (unit) addresses.push(unit.address);
  }
  const provisionSeconds = Number(process.hrtime.bigint() - began) / 1e9;
  t.gateway.flows!.on('datagram', () => {
    datagrams++;
    lastDatagram = Date.now();
  });
  const { ipfix, operatorHttp } = t.gateway.listen;
  process.stdout.write(JSON.stringify({ ipfix, operatorHttp, addresses, provisionSeconds }) + '\n');
} catch (e) {
  console.error(e);
  await stop();
}
