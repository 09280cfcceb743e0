import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import { refuseWeakSecrets } from '../config/weak-secrets.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { AuthenticationServer } from '../aaa/service/authentication-server.ts';
import { dynamicAuthorizationRoutes } from '../aaa/service/dynamic-authorization-routes.ts';
import { resolutionRoutes } from '../aaa/service/resolution-routes.ts';
import { certificationRoutes } from '../certification/certification-routes.ts';
import { CertificationServer } from '../certification/certification-server.ts';
import type { Acquirer } from '../certification/settlement/acquirer.ts';
import { channelRoutes } from '../channel/service/channel-routes.ts';
import { ChannelPart } from '../channel/service/channel-part.ts';
import { buildOperatorApi } from '../operator/operator-api.ts';
import { DestinationTracking } from '../tracking/service/destination-tracking.ts';
import { FlowCollector } from '../tracking/service/flow-collector.ts';
import { trackingRoutes } from '../tracking/service/tracking-routes.ts';
import { ChangeNotices } from '../store/change-notices.ts';
import { JobLeases } from '../store/job-leases.ts';
import { sqlitePath } from '../store/open-store.ts';
import { SubscriberPortal } from '../web/portal/portal-server.ts';
import { operatorConsole } from '../web/console/operator-console.ts';
import { DemoStore } from '../web/demo-store/demo-store.ts';
import { openContext, type Context } from './context.ts';
import { DataDirectoryLock } from './data-directory-lock.ts';
import { checkListenAddresses, explainBindFailure, plannedListeners } from './listen-preflight.ts';
import { seedDemoData, type DemoChannelLine, type DemoCredentials } from './demo-data.ts';
import { followRegistry } from './registry-follower.ts';
import { deterministicNatRoutes } from '../aaa/service/deterministic-nat-routes.ts';

export type ListenMap = Record<string, string>;

export interface GatewayOptions {
  config: Config;
  logger: Logger;
  /** Lower scrypt cost for tests that create many subscribers. */
  scryptCost?: { N: number; r: number; p: number };
  /** The payment network adapter; the simulated acquirer when absent. */
  acquirer?: Acquirer;
}

/** How often a gateway reads which master key the database seals under (see Vault.followActiveKey). */
const ACTIVE_KEY_POLL_MS = 2000;

/**
 * Every part of Sideband in one process: takes the data directory's lock, checks that
 * its ports are free, opens the store and the vault, seeds demo data on a fresh
 * development directory, and starts each listener, recording where it listens.
 */
export class Gateway {
  readonly metrics = new Metrics();
  readonly listen: ListenMap = {};
  demo: DemoCredentials | null = null;
  private ctx: Context | null = null;
  private operatorHttp: FastifyInstance | null = null;
  private aaa: AuthenticationServer | null = null;
  private tracker: DestinationTracking | null = null;
  private collector: FlowCollector | null = null;

  /** The flow collector, once started: it emits `datagram` after each one it handled. */
  get flows(): FlowCollector | null {
    return this.collector;
  }
  private cert: CertificationServer | null = null;
  private channelPart: ChannelPart | null = null;
  private portal: SubscriberPortal | null = null;
  private demoStore: DemoStore | null = null;
  private lock: DataDirectoryLock | null = null;
  private stopFollowingKey: (() => void) | null = null;
  private notices: ChangeNotices | null = null;
  private jobs: JobLeases | null = null;

  constructor(private readonly options: GatewayOptions) {}

  get context(): Context {
    if (!this.ctx) throw new Error('gateway not started');
    return this.ctx;
  }

  /**
   * Nothing in the data directory is read or written before its lock is held, and no
   * data (demo data included) before the configuration's secrets and ports are checked.
   * A failed start closes what it opened and releases the lock.
   */
  async start(): Promise<ListenMap> {
    const { config } = this.options;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    this.lock = DataDirectoryLock.acquire(config.dataDir);
    try {
      refuseWeakSecrets(config);
      await checkListenAddresses(config);
      return await this.startParts();
    } catch (e) {
      // Every part stopped, the store closed and the lock released, whatever failed.
      await this.stop().catch(() => {});
      throw explainBindFailure(e, plannedListeners(config));
    }
  }

  private async startParts(): Promise<ListenMap> {
    const { config, logger } = this.options;
    const fresh = !config.databaseUrl && !existsSync(sqlitePath(config.dataDir));
    const ctx = await openContext(config, logger, { actor: 'system', ...(this.options.scryptCost ? { scryptCost: this.options.scryptCost } : {}) });
    this.ctx = ctx;
    if (ctx.createdKey) logger.warn({ keyFile: ctx.keyring.file }, 'created a development master key; back it up, or set SIDEBAND_MASTER_KEY in production');
    this.stopFollowingKey = ctx.vault.followActiveKey(ACTIVE_KEY_POLL_MS, (e) => logger.warn({ err: e }, 'could not follow the database\'s active master key'));

    const demoFile = join(config.dataDir, 'demo.json');
    const seeded = (await ctx.store.db.selectFrom('subscribers').select('id').limit(1).executeTakeFirst()) !== undefined;
    if (config.demo && (fresh || !seeded) && !existsSync(demoFile)) {
      this.demo = await seedDemoData(ctx);
      logger.info({ subscriber: this.demo.subscriber.login, nas: this.demo.nas.name, merchant: this.demo.merchant.id }, 'seeded demo data');
    }
    const demo = config.demo ? (this.demo ?? (existsSync(demoFile) ? (JSON.parse(readFileSync(demoFile, 'utf8')) as DemoCredentials) : null)) : null;
    // The demo store's line at the built-in exchange, for its end of the secure channel.
    const demoLine = demo?.merchant.channel && config.channel.exchange.builtIn ? demo.merchant.channel : null;

    // Several gateways may share a PostgreSQL database: each follows the others' changes
    // (LISTEN/NOTIFY) and cluster-wide jobs run on one at a time (job_leases).
    const jobs = (this.jobs = new JobLeases(ctx.store));
    // This process holds the data directory's lock: whoever held these leases from it before is dead.
    const inherited = await jobs.takeOverPredecessor(config.dataDir);
    if (inherited > 0) logger.info({ leases: inherited }, 'took over the leases of the gateway that ran from this data directory before');
    const notices = (this.notices = ctx.store.dialect === 'postgres' && config.databaseUrl ? new ChangeNotices(config.databaseUrl, logger.child({ part: 'cluster' })) : null);
    this.aaa = new AuthenticationServer(config, ctx.store, ctx.vault, logger, this.metrics, jobs, notices);
    if (notices) {
      const aaa = this.aaa;
      followRegistry(notices, { nas: aaa.nas, subscribers: aaa.subscribers, sessions: aaa.sessions, exporters: ctx.exporters, vault: ctx.vault, merchantsChanged: () => this.cert?.merchantsChanged() }, logger.child({ part: 'cluster' }));
      await notices.start();
    }
    Object.assign(this.listen, await this.aaa.start());

    this.tracker = new DestinationTracking(ctx.store, this.aaa.sessions, logger.child({ part: 'tracking' }), this.metrics, {
      perSession: config.tracking.destinationsPerSession,
      maxAgeMs: config.tracking.destinationMaxAgeMinutes * 60_000,
      sessionsPerExporter: config.tracking.sessionsPerExporter,
    }, { clockSkewMs: config.tracking.clockSkewSeconds * 1000 });
    this.tracker.start();
    await ctx.exporters.load(config.tracking.exporters);
    this.collector = new FlowCollector(ctx.exporters, this.tracker, logger.child({ part: 'collector' }), this.metrics);
    Object.assign(this.listen, await this.collector.listen(config.listen.host, { netflow: config.listen.netflow, ipfix: config.listen.ipfix }));

    this.cert = new CertificationServer(config, ctx.store, ctx.vault, this.aaa.sessions, this.tracker, logger.child({ part: 'certification' }), this.metrics, jobs, this.options.acquirer);
    Object.assign(this.listen, await this.cert.start());

    if (config.channel.enabled) {
      const extraLines = demoLine ? [{ username: demoLine.username, password: demoLine.password, numbers: [demoLine.lineNumber, ...demoLine.numbers] }] : [];
      this.channelPart = new ChannelPart(config, ctx.store, ctx.vault, this.cert.signer, logger, this.metrics, jobs, extraLines);
      Object.assign(this.listen, await this.channelPart.start());
      this.cert.channel = this.channelPart.channel;
      const channel = this.channelPart.channel!;
      this.cert.authorizations.lifecycle.approvalListeners.push((row, known) => {
        channel.onApproved(row, known?.channelMode).catch((e) => logger.warn({ err: e, authorization: row.id }, 'could not start the secure channel the subscriber switched on'));
      });
    }

    this.operatorHttp = buildOperatorApi(ctx, this.metrics, [resolutionRoutes(this.aaa.sessions, ctx.store), deterministicNatRoutes(ctx.store), dynamicAuthorizationRoutes(this.aaa.dynamicAuthorization, ctx), trackingRoutes(this.tracker, ctx.store), certificationRoutes(this.cert, ctx.store), channelRoutes(() => this.channelPart?.channel ?? null, ctx.store)]);
    this.operatorHttp.register(operatorConsole(this.operatorHttp, ctx.tokens, ctx.store, config, ctx.keyring), { prefix: '/console' });
    const address = await this.operatorHttp.listen({ host: config.listen.host, port: config.listen.operatorHttp });
    this.listen.operatorHttp = new URL(address).host;

    this.portal = new SubscriberPortal({
      config, logger, store: ctx.store, vault: ctx.vault, tracking: this.tracker, lifecycle: this.cert.authorizations.lifecycle, channel: () => this.channelPart?.channel ?? null, jobs,
      ...(this.options.scryptCost ? { scryptCost: this.options.scryptCost } : {}),
    });
    this.listen.portalHttp = await this.portal.listen();

    await this.startDemoStore(demo, demoLine);
    this.writeDemoFile(demoFile);
    logger.info({ listen: this.listen, store: ctx.store.dialect, location: ctx.store.location }, 'gateway started');
    return this.listen;
  }

  /**
   * The development start's demo merchant store, signing as the demo merchant; only when
   * demo data exists (this start seeded it, or demo.json and its key are still there).
   * With the built-in exchange it also runs the store's end of the secure channel and, as
   * an operator would with `sideband merchant set-channel`, registers it for the demo
   * merchant: its negotiation port and certificate are new on each start.
   */
  private async startDemoStore(demo: DemoCredentials | null, line: DemoChannelLine | null): Promise<void> {
    const { config, logger } = this.options;
    if (!demo || !existsSync(demo.merchant.privateKeyPath)) return;
    const registrar = this.channelPart?.registrar;
    this.demoStore = new DemoStore({
      merchantApi: `http://${this.listen.merchantHttp}`, publicOrigin: config.merchantApi.publicOrigin, keyId: demo.merchant.keyId, privateKey: readFileSync(demo.merchant.privateKeyPath, 'utf8'),
      host: config.listen.host, port: config.listen.demoStoreHttp, http: config.http, logger,
      ...(line && registrar ? { channel: { registrar, ...line, mediaAddress: config.channel.mediaAddress } } : {}),
    });
    this.listen.demoStoreHttp = await this.demoStore.listen();
    const registration = this.demoStore.channelRegistration;
    if (registration) await this.context.merchants.setChannel(demo.merchant.id, registration);
  }

  /** demo.json always tells where this run listens, also when an existing directory is reused. */
  private writeDemoFile(path: string): void {
    let demo: DemoCredentials | null = this.demo;
    if (!demo && existsSync(path)) demo = JSON.parse(readFileSync(path, 'utf8')) as DemoCredentials;
    if (demo) writeFileSync(path, JSON.stringify({ ...demo, listen: this.listen }, null, 2) + '\n', { mode: 0o600 });
  }

  get authentication(): AuthenticationServer {
    if (!this.aaa) throw new Error('gateway not started');
    return this.aaa;
  }

  get tracking(): DestinationTracking {
    if (!this.tracker) throw new Error('gateway not started');
    return this.tracker;
  }

  get channel(): ChannelPart | null {
    return this.channelPart;
  }

  get certification(): CertificationServer {
    if (!this.cert) throw new Error('gateway not started');
    return this.cert;
  }

  /**
   * Stops every part, each whatever the others did, then closes the store and releases
   * the lock last: nothing of this process may still use the directory once another
   * can take it. The first failure is rethrown after all steps ran.
   */
  async stop(): Promise<void> {
    this.stopFollowingKey?.();
    this.stopFollowingKey = null;
    const failures: unknown[] = [];
    const step = async (work: (() => Promise<unknown>) | undefined) => {
      try {
        await work?.();
      } catch (e) {
        failures.push(e);
      }
    };
    const { demoStore, portal, operatorHttp, cert, channelPart, collector, tracker, aaa, notices, jobs, ctx } = this;
    await step(demoStore ? () => demoStore.close() : undefined);
    await step(portal ? () => portal.close() : undefined);
    await step(operatorHttp ? () => operatorHttp.close() : undefined);
    await step(cert ? () => cert.stop() : undefined);
    await step(channelPart ? () => channelPart.stop() : undefined);
    await step(collector ? () => collector.close() : undefined);
    await step(tracker ? () => tracker.stop() : undefined);
    await step(aaa ? () => aaa.stop() : undefined);
    await step(notices ? () => notices.stop() : undefined);
    // Given back, so that another gateway takes the jobs over at once.
    await step(jobs ? () => jobs.releaseAll() : undefined);
    await step(ctx ? () => ctx.close() : undefined);
    this.demoStore = this.portal = this.operatorHttp = this.cert = this.channelPart = this.collector = this.tracker = this.aaa = this.notices = this.jobs = this.ctx = null;
    this.lock?.release();
    this.lock = null;
    if (failures.length > 0) throw failures[0];
  }
}
