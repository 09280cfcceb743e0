import { ChannelEndpoint, SipTelephony } from '@sideband/channel';
import type { WebhookSigner } from '../../certification/webhooks/webhook-signer.ts';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { DurableWrites } from '../../store/durable-writes.ts';
import type { JobLeases } from '../../store/job-leases.ts';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';
import { Exchange } from '../exchange/exchange.ts';
import { StoreCallDetailRecordSink } from '../exchange/store-call-detail-record-sink.ts';
import { ProviderChannel } from './provider-channel.ts';
import { loadProviderIdentity } from './provider-identity.ts';
import { providerLinePassword } from './provider-line-password.ts';

/** A line of the built-in exchange, as `channel.exchange.lines` gives them. */
export type ExchangeLine = Config['channel']['exchange']['lines'][number];

/** How long a gateway's claim on its channel numbers outlives it. */
const CLAIM_MS = 60_000;

/** The provider's lines at the exchange, as the built-in exchange must know them. */
export const providerLine = (config: Config, password: string) => ({ username: config.channel.exchange.username, password, numbers: [config.channel.lineNumber, ...config.channel.numbers] });

/**
 * Starts the exchange alone (`sideband exchange`) or inside the gateway, with the configured lines and the provider's (its password from providerLinePassword).
 * Inside the gateway its call detail records go through the channel's `writes`, so that a call's record and its exchange's outcome can share a commit.
 */
export async function startExchange(config: Config, store: Store | null, logger: Logger, metrics: Metrics, providerPassword: string, extraLines: readonly ExchangeLine[] = [], writes?: DurableWrites): Promise<{ exchange: Exchange; listen: Record<string, string> }> {
  const cdrSink = store ? new StoreCallDetailRecordSink(store, logger, writes) : { write: (cdr: object) => logger.info({ cdr }, 'call detail record') };
  const exchange = new Exchange({ logger: logger.child({ part: 'exchange' }), metrics, cdrSink });
  const port = config.channel.exchange.port;
  const at = await exchange.start({ host: config.channel.exchange.host, udpPort: port, tcpPort: port, lines: [providerLine(config, providerPassword), ...config.channel.exchange.lines, ...extraLines], limits: config.channel.exchange.limits });
  const h = at.host.includes(':') ? `[${at.host}]` : at.host;
  return { exchange, listen: { exchangeUdp: `${h}:${at.udpPort}`, exchangeTcp: `${h}:${at.tcpPort}` } };
}

/**
 * The secure channel as a part of the gateway: optionally the built-in exchange, the
 * provider's line registered there, its number pool and certificate, and the service.
 */
export class ChannelPart {
  channel: ProviderChannel | null = null;
  /** The exchange this gateway registers at, as a SIP URI, once started. */
  registrar: string | null = null;
  private exchange: Exchange | null = null;
  private endpoint: ChannelEndpoint | null = null;
  private claimTimer: NodeJS.Timeout | null = null;
  private readonly writes: DurableWrites;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly signer: WebhookSigner,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly leases: JobLeases,
    /** Lines the built-in exchange serves besides the configured ones (the development start's demo store). */
    private readonly extraLines: readonly ExchangeLine[] = [],
  ) {
    this.writes = new DurableWrites(store, { logger: logger.child({ part: 'channel-writes' }), metrics });
  }

  /**
   * Gateways sharing a database and an exchange must not reserve the same number: the
   * exchange sends a number's calls to its newest registration, so a reservation made at
   * one gateway would ring at another. Each gateway claims its numbers at that registrar
   * (a lease per number, renewed while it runs, lapsing if it dies) and refuses to start
   * on a number another live gateway holds: give each its own `channel.numbers`.
   */
  private async claimNumbers(registrar: string): Promise<void> {
    const claim = async (): Promise<string | null> => {
      for (const n of this.config.channel.numbers) if (!(await this.leases.hold(`channel-number ${registrar} ${n}`, CLAIM_MS))) return n;
      return null;
    };
    const taken = await claim();
    if (taken !== null) {
      const holder = (await this.leases.list()).find((l) => l.name === `channel-number ${registrar} ${taken}`)?.holder ?? 'another gateway';
      throw new SidebandError('CHANNEL_NUMBER_CLAIMED', `Channel number ${taken} at ${registrar} is in use by ${holder}, a gateway on the same database: give each gateway its own channel.numbers.`, { param: 'channel.numbers' });
    }
    this.claimTimer = setInterval(() => {
      claim().then(
        (lost) => lost !== null && this.logger.error({ number: lost, registrar }, 'another gateway took a channel number this one reserves from; its calls may ring there'),
        (e) => this.logger.warn({ err: e }, 'could not renew the claim on the channel numbers'),
      );
    }, CLAIM_MS / 3);
    this.claimTimer.unref();
  }

  async start(): Promise<Record<string, string>> {
    const c = this.config.channel;
    const listen: Record<string, string> = {};
    let host = c.exchange.host;
    let port = c.exchange.port;
    const password = await providerLinePassword(this.config, this.store, this.vault);
    if (c.exchange.builtIn) {
      const started = await startExchange(this.config, this.store, this.logger, this.metrics, password, this.extraLines, this.writes);
      this.exchange = started.exchange;
      Object.assign(listen, started.listen);
      const where = (c.exchange.transport === 'tcp' ? started.listen.exchangeTcp : started.listen.exchangeUdp)!;
      host = where.slice(0, where.lastIndexOf(':')).replace(/^\[|\]$/g, '');
      port = Number(where.slice(where.lastIndexOf(':') + 1));
    }
    const registrar = (this.registrar = `sip:${host.includes(':') ? `[${host}]` : host}:${port}${c.exchange.transport === 'tcp' ? ';transport=tcp' : ''}`);
    await this.claimNumbers(registrar);
    const telephony = await SipTelephony.start({ host: c.mediaAddress, registrar, username: c.exchange.username, password, lineNumber: c.lineNumber, numbers: c.numbers, transport: c.exchange.transport, logger: this.logger.child({ part: 'channel-sip' }) });
    const identity = await loadProviderIdentity(this.store, this.vault);
    this.endpoint = new ChannelEndpoint({ party: 'provider', identity, telephony, numbers: c.numbers, mediaAddress: c.mediaAddress, reservationTtlMs: c.reservationSeconds * 1000 });
    this.channel = new ProviderChannel(this.store, this.vault, this.endpoint, this.signer, this.logger.child({ part: 'channel' }), this.writes);
    return listen;
  }

  async stop(): Promise<void> {
    if (this.claimTimer) clearInterval(this.claimTimer);
    await this.endpoint?.close();
    await this.exchange?.stop();
    await this.writes.close();
  }
}
