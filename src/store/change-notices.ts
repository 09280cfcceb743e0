import { sql } from 'kysely';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import type { Db, Tx } from './open-store.ts';
import { dialectOf } from './prepared-statement.ts';

/**
 * The PostgreSQL channel on which a transaction that changed what gateways keep in memory
 * (NAS clients, pools, exporters, subscribers, merchants, the active master key) tells
 * the others. The payload is the change's audit action and subject: `nas.remove nas_…`.
 */
export const REGISTRY_CHANNEL = 'sideband_registry';

/** Audit actions whose subjects some gateway keeps in memory, by prefix. */
const FOLLOWED = ['nas.', 'pool.', 'exporter.', 'subscriber.', 'merchant.', 'vault.key.'];

export const isFollowedAction = (action: string): boolean => FOLLOWED.some((p) => action.startsWith(p));

/**
 * Inside the writer's transaction, on PostgreSQL: NOTIFY is delivered at commit and never
 * for a transaction rolled back, so a follower that hears it reads the committed change.
 * SQLite runs one gateway per data directory; its followers poll instead.
 */
export async function announce(db: Db | Tx, action: string, subjectId: string | null): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`select pg_notify(${REGISTRY_CHANNEL}, ${`${action} ${subjectId ?? ''}`.trim()})`.execute(db);
}

export interface Notice {
  channel: string;
  payload: string;
}

/**
 * One LISTEN connection per gateway, outside the store's pool, shared by everything that
 * follows other gateways. Notifications sent while it was disconnected are lost, so after
 * every (re)connection each follower's `resync` runs and reads what it follows afresh.
 */
export class ChangeNotices {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private readonly handlers = new Map<string, Array<(payload: string) => void>>();
  private readonly resyncs: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly reconnectMs = 1000,
  ) {}

  /** `resync` runs after each connection, when notifications may have been missed. */
  on(channel: string, handler: (payload: string) => void, resync?: () => void): void {
    const list = this.handlers.get(channel) ?? [];
    list.push(handler);
    this.handlers.set(channel, list);
    if (resync) this.resyncs.push(resync);
  }

  async start(): Promise<void> {
    await this.connect();
    // Reconnects a lost connection; the followers' own timers cover the gap meanwhile.
    this.timer = setInterval(() => {
      if (!this.client && !this.connecting && !this.stopped) this.connect().catch((e) => this.logger.warn({ err: e }, 'could not reconnect to follow other gateways'));
    }, this.reconnectMs);
    this.timer.unref();
  }

  get connected(): boolean {
    return this.client !== null;
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5000, keepAlive: true, keepAliveInitialDelayMillis: 30_000 });
    client.on('error', (e) => {
      this.logger.warn({ err: e }, 'lost the connection that follows other gateways; reconnecting');
      if (this.client === client) this.client = null;
      client.end().catch(() => {});
    });
    client.on('notification', (n) => {
      for (const h of this.handlers.get(n.channel) ?? []) h(n.payload ?? '');
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`listen ${channel}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    for (const r of this.resyncs) r();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}
