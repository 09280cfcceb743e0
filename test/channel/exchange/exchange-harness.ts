import { Exchange } from '../../../src/channel/exchange/exchange.ts';
import type { ExchangeStartInput } from '../../../src/channel/exchange/exchange-options.ts';
import { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import { describeTlsStream } from '@sideband/sip/sdp';
import { UserAgent } from '@sideband/sip/user-agent';
import type { Metrics } from '../../../src/observability/metrics.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';

export const lines = [
  { username: 'provider', password: 'provider-password', numbers: ['+15550100'] },
  { username: 'shop', password: 'shop-password', numbers: ['+15550199', '+18005550199'], reverseCharge: ['+18005550199'] },
  { username: 'mallory', password: 'mallory-password', numbers: ['+15550166'] },
  { username: 'gone', password: 'gone-password', numbers: ['+15550177'] },
];

const fingerprint = { hashFunction: 'sha-256', value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':') };

/** An offer and an answer for a TLS stream, as the channel will send them. */
export const offer = describeTlsStream({ address: '127.0.0.1', port: 40001, setup: 'actpass', connection: 'new', fingerprints: [fingerprint], format: '*' });
export const answer = describeTlsStream({ address: '127.0.0.1', port: 9, setup: 'active', connection: 'new', fingerprints: [fingerprint], format: '*' });

export async function startExchange(name: string, metrics?: Metrics, options: { noResponseTimeoutMs?: number; minExpires?: number; limits?: ExchangeStartInput['limits'] } = {}) {
  const sink = new InMemoryCallDetailRecordSink();
  const exchange = new Exchange({ logger: createTestLogger(name), cdrSink: sink, noResponseTimeoutMs: options.noResponseTimeoutMs ?? 400, minExpires: options.minExpires ?? 1, ...(metrics ? { metrics } : {}) });
  const at = await exchange.start({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, lines, ...(options.limits ? { limits: options.limits } : {}) });
  return { exchange, sink, at };
}

export async function startUserAgent(name: string, transport: 'UDP' | 'TCP', metrics?: Metrics): Promise<UserAgent> {
  const ua = new UserAgent({ host: '127.0.0.1', ...(transport === 'UDP' ? { udpPort: 0 } : { tcpPort: 0 }), logger: createTestLogger(name), ...(metrics ? { metrics } : {}) });
  await ua.start();
  return ua;
}

/** A configured line's password, by its username. */
export const linePassword = (username: string): string => lines.find((l) => l.username === username)!.password;

/** An exchange with the merchant line `shop` (+15550199) registered over `transport`: the legitimate peer of the flood tests. */
export async function startExchangeWithShop(name: string, transport: 'UDP' | 'TCP', metrics: Metrics) {
  const started = await startExchange(`exchange-${name}`, metrics);
  const shop = await startUserAgent(`shop-${name}`, transport);
  await shop.register(['+15550199'], { registrar: transport === 'UDP' ? started.at.udpUri : started.at.tcpUri, username: 'shop', password: linePassword('shop'), expires: 120 });
  return { ...started, shop };
}
