import { DurableWrites } from '../store/durable-writes.ts';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { JobLeases } from '../store/job-leases.ts';
import type { Store } from '../store/open-store.ts';
import type { Vault } from '../vault/vault.ts';
import type { SessionService } from '../aaa/service/session-service.ts';
import type { DestinationTracking } from '../tracking/service/destination-tracking.ts';
import type { ProviderChannel } from '../channel/service/provider-channel.ts';
import { IdempotencyKeys } from './api/idempotency.ts';
import { OAuthTokens } from './camara/oauth-tokens.ts';
import { buildMerchantApi } from './api/merchant-api.ts';
import { RequestAuthentication } from './api/request-authentication.ts';
import { TargetUriResolver } from './api/target-uri-resolver.ts';
import { AuthorizationService } from './authorization/authorization-service.ts';
import type { Acquirer } from './settlement/acquirer.ts';
import { SimulatedAcquirer } from './settlement/simulated-acquirer.ts';
import { AcquirerOutbox } from './settlement/acquirer-outbox.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { WebhookSigner } from './webhooks/webhook-signer.ts';

/**
 * The certification server (the seed's server 54) as one part of the gateway: the signed
 * merchant API, the authorization service behind it, webhook delivery, and the sweeper
 * that expires authorizations and forgets old nonces and idempotency keys.
 */
export class CertificationServer {
  authorizations!: AuthorizationService;
  signer!: WebhookSigner;
  readonly acquirer: Acquirer;
  /** The secure channel's provider end, when the gateway runs one; the merchant API's /v1/channel routes use it. */
  channel: ProviderChannel | null = null;
  private http: FastifyInstance | null = null;
  private dispatcher: WebhookDispatcher | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private outboxTimer: NodeJS.Timeout | null = null;
  private outbox: AcquirerOutbox | null = null;
  private webhookTimer: NodeJS.Timeout | null = null;
  private auth: RequestAuthentication | null = null;
  private writes: DurableWrites | null = null;
  private sweepOnce: (() => Promise<void>) | null = null;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly sessions: SessionService,
    private readonly tracking: DestinationTracking,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly leases: JobLeases,
    acquirer?: Acquirer,
  ) {
    this.acquirer = acquirer ?? new SimulatedAcquirer();
  }

  async start(): Promise<{ merchantHttp: string }> {
    const c = this.config.merchantApi;
    this.writes = new DurableWrites(this.store, { logger: this.logger.child({ part: 'merchant-writes' }), metrics: this.metrics });
    this.outbox = new AcquirerOutbox(this.store, this.acquirer, this.logger.child({ part: 'acquirer' }), this.metrics);
    this.authorizations = new AuthorizationService(this.store, this.vault, this.sessions, this.tracking, this.acquirer, this.outbox, {
      destinationCheck: c.destinationCheck,
      destinationWindowMs: c.destinationWindowMinutes * 60_000,
      captureWindowMs: c.captureWindowHours * 3_600_000,
      confirmationMs: c.confirmationMinutes * 60_000,
      observedMaxAgeMs: c.observedMaxAgeSeconds * 1000,
      presenceGraceMs: c.presenceGraceSeconds * 1000,
    }, this.logger, this.writes);
    this.signer = await WebhookSigner.load(this.store, this.vault);
    const auth = (this.auth = new RequestAuthentication(this.store, c.signatureMaxAgeSeconds, { writes: this.writes, targetUri: new TargetUriResolver({ publicOrigin: c.publicOrigin, trustedProxies: c.trustedProxies }) }));
    const idempotency = new IdempotencyKeys(this.store, this.writes);
    const tokens = new OAuthTokens(this.store);
    this.http = buildMerchantApi({ http: this.config.http, auth, authorizations: this.authorizations, signer: this.signer, idempotency, logger: this.logger, metrics: this.metrics, channel: () => this.channel, camara: { store: this.store, sessions: this.sessions, tokens, sinkLoopbackHttp: c.camaraSinkLoopbackHttp } });
    const address = await this.http.listen({ host: this.config.listen.host, port: this.config.listen.merchantHttp });
    this.dispatcher = new WebhookDispatcher(this.store, this.signer, this.logger.child({ part: 'webhooks' }), this.metrics, c.webhookPrivateTargets ?? (this.config.demo ? 'allow' : 'refuse'));
    // Each job below runs on one gateway of those sharing the database (job-leases.ts);
    // a survivor takes it over from one that dies. Rows are claimed one by one besides,
    // so even two holders (clocks far apart) never act twice on one.
    const dispatcher = this.dispatcher;
    this.webhookTimer = setInterval(() => void this.leases.run('webhook-delivery', 10_000, () => dispatcher.tick()).catch((e) => this.logger.error({ err: e }, 'webhook delivery lease failed')), 500);
    this.webhookTimer.unref();
    this.sweepOnce = () => Promise.all([this.authorizations.lifecycle.expireDue(), this.authorizations.lifecycle.recoverProcessing(), auth.purgeNonces(), idempotency.purge(), tokens.purge()]).then(() => undefined);
    this.sweeper = setInterval(() => {
      this.leases
        .run('certification-sweep', 20_000, () => this.sweep())
        .catch((e) => this.logger.error({ err: e }, 'certification sweep failed'));
    }, 5000);
    this.sweeper.unref();
    // What the acquirer is owed after a commit is sent at once by the gateway that
    // committed it (kick), and retried from here by the lease holder.
    this.outboxTimer = setInterval(() => void this.leases.run('acquirer-outbox', 10_000, async () => this.outbox?.kick()).catch((e) => this.logger.error({ err: e }, 'acquirer outbox lease failed')), 1000);
    this.outboxTimer.unref();
    this.outbox.kick();
    return { merchantHttp: new URL(address).host };
  }

  /**
   * One pass of the sweeper, which runs every 5 s on the gateway holding its lease: expires
   * authorizations past their capture window, recovers those left processing, and forgets
   * nonces, idempotency keys and OAuth tokens past their retention.
   */
  sweep(): Promise<void> {
    return this.sweepOnce?.() ?? Promise.resolve();
  }

  /** A merchant or its keys changed in another process: forget what was learnt about key ids. */
  merchantsChanged(): void {
    this.auth?.keysChanged();
  }

  /** Runs due webhook deliveries now (tests, and operators who do not want to wait). */
  deliverWebhooks(): Promise<void> {
    return this.dispatcher?.tick() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.outboxTimer) clearInterval(this.outboxTimer);
    if (this.webhookTimer) clearInterval(this.webhookTimer);
    await this.http?.close();
    await this.writes?.close();
    await this.outbox?.close();
    await this.dispatcher?.stop();
  }
}
