// The merchant's side of bench/channel, in a process of its own as a merchant's shop runs
// it beside the provider's gateway, not inside it: the SDK client that negotiates each
// exchange, and the MerchantChannel that answers the provider's call and takes the card.
// Driven by its parent over the IPC channel (bench/channel/index.ts):
//   → { start: MerchantStart }                ← { started: { url, fingerprint } }
//   → { run: { authorizations, concurrency } } ← { ran: MerchantRun }
//   → { stop: true }                           ← { stopped: true }, then it exits
// Both timings are taken here, on this process's clock: from just before the merchant's
// POST /v1/channel/exchanges to the card's arrival at the acquirer hook (first item), and
// to the exchange's outcome (whole exchange).
import { cpuUsage } from 'node:process';
import { SidebandClient } from '@sideband/merchant-sdk';
import { createChannelIdentity, ChannelEndpoint, SipTelephony } from '@sideband/channel';
import { MerchantChannel } from '@sideband/merchant-sdk/channel';
import { createLogger } from '../../src/observability/logger.ts';

export interface MerchantStart {
  merchantHttp: string;
  keyId: string;
  privateKeyPem: string;
  registrar: string;
  line: { username: string; password: string; lineNumber: string; numbers: string[] };
}

export interface MerchantRun {
  /** Milliseconds, one per successful exchange, in the order they finished. */
  firstItem: number[];
  whole: number[];
  failures: Array<[string, number]>;
  seconds: number;
  /** This process's CPU (user + system) over the run, in seconds. */
  cpuSeconds: number;
}

type Message = { start: MerchantStart } | { run: { authorizations: string[]; concurrency: number } } | { stop: true };

let channel: MerchantChannel | null = null;
const cardAt = new Map<string, bigint>();

async function start(o: MerchantStart): Promise<{ url: string; fingerprint: string }> {
  const logger = createLogger({ level: 'silent' });
  const client = new SidebandClient({ baseUrl: `http://${o.merchantHttp}`, keyId: o.keyId, privateKey: o.privateKeyPem, maxRetries: 0, timeoutMs: 30_000 });
  const identity = await createChannelIdentity('shop.example');
  const telephony = await SipTelephony.start({ host: '127.0.0.1', registrar: o.registrar, ...o.line, logger });
  const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: o.line.numbers, mediaAddress: '127.0.0.1', reservationTtlMs: 3000, ringTimeoutMs: 3000, exchangeTimeoutMs: 3000 });
  channel = new MerchantChannel({
    client, endpoint, listen: { host: '127.0.0.1', port: 0 },
    // The card goes no further than this timestamp: never printed, never sent back.
    onCard: (_card, { exchangeId }) => void cardAt.set(exchangeId, process.hrtime.bigint()),
    goods: () => [{ kind: 'goods', contentType: 'application/epub+zip', data: Buffer.from('an e-book').toString('base64') }],
  });
  const url = await channel.start();
  return { url, fingerprint: identity.fingerprint };
}

async function run(authorizations: string[], concurrency: number): Promise<MerchantRun> {
  const c = channel!;
  const firstItem: number[] = [];
  const whole: number[] = [];
  const failures = new Map<string, number>();
  const failed = (cause: string) => failures.set(cause, (failures.get(cause) ?? 0) + 1);
  let next = 0;
  const cpu = cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < authorizations.length) {
      const id = authorizations[next++]!;
      const started = process.hrtime.bigint();
      let exchangeId: string;
      let result;
      try {
        const requested = await c.requestCard(id, 1);
        exchangeId = requested.exchangeId;
        result = await requested.outcome;
      } catch (e) {
        failed((e as { code?: string }).code ?? (e as Error).message);
        continue;
      }
      const ended = process.hrtime.bigint();
      const at = cardAt.get(exchangeId);
      if (!result.ok) failed(result.cause);
      else if (at === undefined) failed('no-card');
      else {
        firstItem.push(Number(at - started) / 1e6);
        whole.push(Number(ended - started) / 1e6);
      }
    }
  }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = cpuUsage(cpu);
  return { firstItem, whole, failures: [...failures], seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

// Orphaned (the bench died without stopping it), it must not go on holding its sockets.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: Message) => {
  const reply = (value: unknown) => process.send!(value);
  if ('start' in m) void start(m.start).then((started) => reply({ started }), (e: Error) => reply({ error: e.message }));
  else if ('run' in m) void run(m.run.authorizations, m.run.concurrency).then((ran) => reply({ ran }), (e: Error) => reply({ error: e.message }));
  else void (channel?.stop() ?? Promise.resolve()).then(() => {
    reply({ stopped: true });
    process.removeAllListeners('disconnect');
    process.disconnect();
  });
});
