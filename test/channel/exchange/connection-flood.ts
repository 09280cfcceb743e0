import { connect, type Socket } from 'node:net';
import type { SourceLimitCause } from '@sideband/sip/transport';
import type { Metrics } from '../../../src/observability/metrics.ts';

export interface ConnectionFloodOptions {
  readonly host: string;
  readonly port: number;
  /** Local addresses to connect from (127.0.0.2, … all reach lo). */
  readonly sources: readonly string[];
  /** Connections kept open (or re-tried) from each source. */
  readonly perSource: number;
  /** Every connection the flood may ever start, re-tries included: the bound on its work. */
  readonly maxAttempts: number;
  /** Connections started at once; the next wave waits for the last to connect or fail. */
  readonly wave?: number;
}

/**
 * Idle TCP connections that send nothing, from several source addresses: the abuse of
 * issue 12. Once every first connection has been tried, each connection the exchange
 * closes (or closed meanwhile) is opened again at once (the attacker keeps pushing) until
 * `maxAttempts` connections have been started or stop() is called.
 */
export class ConnectionFlood {
  attempts = 0;
  /** Connections that completed the handshake and are not closed. */
  connected = 0;
  /** Connections that closed (refused, evicted or timed out) and were not closed by us. */
  closedByPeer = 0;
  private readonly sockets = new Set<Socket>();
  private stopped = false;
  /** Sources of connections closed during the first wave, re-opened when it is over. */
  private readonly closedEarly: string[] = [];
  private pushing = false;
  private readonly firstWave: Promise<void>;

  constructor(private readonly options: ConnectionFloodOptions) {
    this.firstWave = this.openAll();
  }

  /** Resolves once every first connection has connected or failed. */
  started(): Promise<void> {
    return this.firstWave;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.firstWave.catch(() => undefined);
    const closing = [...this.sockets].map((s) => new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.once('close', () => resolve());
      s.destroy();
    }));
    await Promise.all(closing);
  }

  private async openAll(): Promise<void> {
    const { sources, perSource } = this.options;
    const wave = this.options.wave ?? 100;
    const all = sources.flatMap((source) => Array.from({ length: perSource }, () => source));
    for (let i = 0; i < all.length && !this.stopped; i += wave) {
      await Promise.all(all.slice(i, i + wave).map((source) => this.open(source)));
    }
    this.pushing = true;
    for (const source of this.closedEarly.splice(0)) void this.open(source);
  }

  /** Resolves when the connection is up or has failed; re-opens it whenever the peer closes it. */
  private open(source: string): Promise<void> {
    if (this.stopped || this.attempts >= this.options.maxAttempts) return Promise.resolve();
    this.attempts++;
    return new Promise((resolve) => {
      const socket = connect({ host: this.options.host, port: this.options.port, localAddress: source });
      this.sockets.add(socket);
      let up = false;
      socket.once('connect', () => {
        up = true;
        this.connected++;
        resolve();
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (up) this.connected--;
        resolve();
        if (this.stopped) return;
        this.closedByPeer++;
        if (this.pushing) setImmediate(() => void this.open(source));
        else this.closedEarly.push(source);
      });
    });
  }
}

/** Waits for `check` to hold, looking again every 10 ms (the exchange has no event for it); a broken build fails with `what` after `limitMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const give = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > give) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What `sideband_sip_limited_total` says for one transport and cause. */
export async function limitedCount(metrics: Metrics, transport: 'UDP' | 'TCP', cause: SourceLimitCause): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('sideband_sip_limited_total')?.get();
  return metric?.values.find((v) => v.labels.transport === transport && v.labels.cause === cause)?.value ?? 0;
}

/** The exchange's connection gauge: open in all, and those no line authenticated on. */
export async function exchangeConnections(metrics: Metrics): Promise<{ open: number; unauthenticated: number }> {
  const metric = await metrics.registry.getSingleMetric('sideband_sip_exchange_connections')?.get();
  const of = (kind: string) => metric?.values.find((v) => v.labels.kind === kind)?.value ?? 0;
  return { open: of('open'), unauthenticated: of('unauthenticated') };
}
