import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Config } from '../../config/schema.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ChangeNotices } from '../../store/change-notices.ts';
import { GroupCommit } from '../../store/group-commit.ts';
import type { JobLeases } from '../../store/job-leases.ts';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';
import { DynamicAuthorizationService } from './dynamic-authorization-service.ts';
import { LoginThrottle } from './login-throttle.ts';
import { NasDirectory } from './nas-directory.ts';
import { RadiusServer } from './radius-server.ts';
import { RadsecListener, type RadsecOptions } from './radsec-listener.ts';
import { SessionFeed } from './session-feed.ts';
import { SessionService } from './session-service.ts';
import { SubscriberDirectory } from './subscriber-directory.ts';

/**
 * The authentication server as one part of the gateway: the RADIUS listeners, the session
 * and binding store behind them, the resolution index, and the sweeper that closes
 * sessions whose NAS went silent. On PostgreSQL, where several gateways may share the
 * database, it also follows the sessions and bindings the others change (`session-feed.ts`).
 */
export class AuthenticationServer {
  readonly sessions: SessionService;
  readonly nas: NasDirectory;
  readonly subscribers: SubscriberDirectory;
  /** Disconnect- and CoA-Requests to NASes (RFC 5176). */
  readonly dynamicAuthorization: DynamicAuthorizationService;
  private readonly commit: GroupCommit;
  private readonly radius: RadiusServer;
  private readonly radsec: RadsecListener | null;
  private sweeper: NodeJS.Timeout | null = null;
  private nasReloader: NodeJS.Timeout | null = null;
  private readonly feed: SessionFeed | null;

  constructor(
    private readonly config: Config,
    store: Store,
    vault: Vault,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly leases: JobLeases,
    notices: ChangeNotices | null,
  ) {
    // PostgreSQL takes concurrent writers: several batches in flight (see GroupCommitOptions.lanes).
    this.commit = new GroupCommit(store.db, { logger: logger.child({ part: 'group-commit' }), metrics, lanes: store.dialect === 'postgres' ? 4 : 1, sqlite: store.sqlite });
    this.sessions = new SessionService(store, this.commit, logger, config.radius.holdDownSeconds * 1000, { addressConflict: config.radius.addressConflict });
    this.feed = notices ? new SessionFeed(store, this.sessions, logger.child({ part: 'session-feed' }), metrics, notices, leases) : null;
    this.nas = new NasDirectory(store, vault, logger);
    const subscribers = (this.subscribers = new SubscriberDirectory(store, vault));
    this.dynamicAuthorization = new DynamicAuthorizationService(store, this.nas, leases, logger.child({ part: 'dynamic-authorization' }), metrics, config.radius.dynamicAuthorization, notices);
    const throttle = new LoginThrottle(config.radius.maxFailures, config.radius.failureWindowSeconds * 1000, config.radius.maxFailuresPerLogin);
    this.radius = new RadiusServer(
      {
        host: config.listen.host, authPort: config.listen.radiusAuth, acctPort: config.listen.radiusAcct, interimIntervalSeconds: config.radius.interimIntervalSeconds,
        maxAccountingDelaySeconds: config.radius.maxAccountingDelaySeconds, maxClockAheadSeconds: config.radius.maxClockAheadSeconds,
        admission: { requestsPerSecondPerNas: config.radius.requestsPerSecondPerNas, burstPerNas: config.radius.burstPerNas, maxPendingRequests: config.radius.maxPendingRequests },
      },
      this.nas, subscribers, this.sessions, throttle, logger.child({ part: 'radius' }), metrics,
    );
    const tls = radsecOptions(config);
    this.radsec = tls ? new RadsecListener(tls, this.nas, this.radius, logger.child({ part: 'radsec' }), metrics) : null;
  }

  async start(): Promise<{ radiusAuth: string; radiusAcct: string; radsec?: string }> {
    const t0 = Date.now();
    await this.nas.load();
    // Before the rebuild, so that nothing another gateway commits meanwhile is missed.
    await this.feed?.start();
    const rebuilt = await this.sessions.rebuild();
    this.logger.info({ ...rebuilt, ms: Date.now() - t0 }, 'rebuilt address pools and resolution index from the store');
    this.feed?.follow();
    const { auth, acct } = await this.radius.listen();
    const radsec = await this.radsec?.listen();
    this.dynamicAuthorization.start();
    const staleMs = this.config.radius.staleSessionSeconds * 1000;
    const every = Math.min(60_000, staleMs / 4);
    // One gateway sweeps for all: the others would only find the same sessions closed.
    this.sweeper = setInterval(() => {
      this.leases.run('session-sweep', Math.max(10_000, every * 3), () => this.sessions.sweep(staleMs)).then(
        (n) => n !== undefined && n > 0 && this.logger.info({ closed: n }, 'closed sessions whose NAS went silent'),
        (e) => this.logger.error({ err: e }, 'session sweep failed'),
      );
    }, every);
    this.sweeper.unref();
    // The safety net behind the announcements other processes make (RegistryFollower).
    this.nasReloader = setInterval(() => this.nas.reloadSoon(), 10_000);
    this.nasReloader.unref();
    return { radiusAuth: auth, radiusAcct: acct, ...(radsec ? { radsec } : {}) };
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.nasReloader) clearInterval(this.nasReloader);
    await this.dynamicAuthorization.stop();
    await this.feed?.stop();
    await this.radsec?.close();
    await this.radius.close();
    await this.commit.close();
  }
}

/**
 * The RadSec listener's settings, or null when `radsec` names no files (it is off). The
 * files are read and paired here, at start, so a wrong path or a key that does not fit
 * its certificate stops the gateway with the setting's name.
 */
function radsecOptions(config: Config): RadsecOptions | null {
  const r = config.radsec;
  if (!r.certificateFile || !r.keyFile || !r.caFile) return null;
  const read = (setting: string, file: string): Buffer => {
    const path = isAbsolute(file) ? file : join(config.dataDir, file);
    try {
      return readFileSync(path);
    } catch (e) {
      throw new SidebandError('CONFIG_INVALID', `radsec.${setting}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, { param: `radsec.${setting}` });
    }
  };
  const options: RadsecOptions = {
    host: config.listen.host, port: config.listen.radsec,
    certificate: read('certificateFile', r.certificateFile), key: read('keyFile', r.keyFile), ca: read('caFile', r.caFile),
    idleTimeoutMs: r.idleTimeoutSeconds * 1000, handshakeTimeoutMs: r.handshakeTimeoutSeconds * 1000,
    maxConnections: r.maxConnections, maxPendingPerConnection: r.maxPendingPerConnection,
  };
  try {
    createSecureContext({ cert: options.certificate, key: options.key, ca: options.ca });
  } catch (e) {
    throw new SidebandError('CONFIG_INVALID', `radsec.certificateFile, radsec.keyFile, radsec.caFile: ${(e as Error).message} (PEM files; the key must be the certificate's).`, { param: 'radsec.certificateFile' });
  }
  return options;
}
