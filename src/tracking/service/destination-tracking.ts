import { cidrContains, type Cidr } from '../../core/network/cidr.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Store } from '../../store/open-store.ts';
import type { SessionService } from '../../aaa/service/session-service.ts';
import type { FlowRecord } from '../wire/flow-record.ts';
import { DestinationBook, type DestinationEntry, type DestinationLimits } from './destination-book.ts';

/** How the merchant API's destination check reads the seed's table 200. */
export type DestinationCheckMode = 'off' | 'recent' | 'last';

export interface DestinationCheck {
  contacted: boolean;
  mode: DestinationCheckMode;
  /** The matching destination, when there is one. */
  match: DestinationEntry | null;
  /** The session's most recent destination: the seed's referential address. */
  referential: DestinationEntry | null;
}

export interface Observation {
  exporter: string;
  sourceAddress: string;
  sourcePort?: number | undefined;
  destinationAddress: string;
  at: number;
  flows?: number;
}

/**
 * Attributes flows to the sessions whose bindings held their source address (and port)
 * at the flow's time, keeps each session's recent destinations, writes them to the store
 * once a second, and answers the destination check.
 */
export class DestinationTracking {
  readonly book: DestinationBook;
  private flusher: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly attributed;
  private readonly unattributed;

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    metrics: Metrics,
    limits: DestinationLimits,
  ) {
    this.book = new DestinationBook(limits);
    this.attributed = metrics.counter('sideband_flows_attributed_total', 'Flow records attributed to a session');
    this.unattributed = metrics.counter('sideband_flows_unattributed_total', 'Flow records whose source no binding held at the flow\'s time');
    metrics.gauge('sideband_tracked_destinations', 'Destinations held in memory', ['kind'], (g) => {
      const s = this.book.size;
      g.set({ kind: 'sessions' }, s.sessions);
      g.set({ kind: 'destinations' }, s.destinations);
    });
  }

  start(): void {
    this.flusher = setInterval(() => void this.flush(), 1000);
    this.flusher.unref();
  }

  /** Attributes decoded flow records; returns how many found a session. */
  attributeFlows(records: readonly FlowRecord[]): number {
    let n = 0;
    for (const r of records) {
      // Behind a carrier-grade NAT the exporter may report the translated source: that is
      // the address and port the bindings (and the merchant) see.
      const address = r.postNATSourceAddress ?? r.sourceAddress;
      const port = r.postNAPTSourcePort ?? r.sourcePort;
      if (this.observe({ exporter: r.exporter, sourceAddress: address, sourcePort: port, destinationAddress: r.postNATDestinationAddress ?? r.destinationAddress, at: r.end || r.start })) n++;
    }
    return n;
  }

  observe(o: Observation): boolean {
    const binding = this.sessions.resolve(o.sourceAddress, o.at, o.sourcePort);
    if (!binding) {
      this.unattributed.inc();
      return false;
    }
    this.book.record(o.exporter, binding.sessionId, o.destinationAddress, o.at, o.flows ?? 1);
    this.attributed.inc();
    return true;
  }

  /** Writes the destinations changed since the last flush, in one transaction. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const changed = this.book.drain();
    if (changed.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        // One transaction per 1,000 rows, yielding between them: on SQLite each write runs
        // on the event loop, and one big transaction would stop the collector reading its
        // socket for the whole of it.
        for (let i = 0; i < changed.length; i += 1000) {
          await this.store.db.transaction().execute(async (tx) => {
            for (let j = i; j < Math.min(i + 1000, changed.length); j += 200) {
              await tx
                .insertInto('session_destinations')
                .values(changed.slice(j, Math.min(j + 200, i + 1000)).map((e) => ({ session_id: e.sessionId, destination: e.destination, first_seen: e.firstSeen, last_seen: e.lastSeen, flows: e.flows })))
                .onConflict((oc) =>
                  oc.columns(['session_id', 'destination']).doUpdateSet((eb) => ({
                    last_seen: eb.ref('excluded.last_seen'),
                    flows: eb.ref('excluded.flows'),
                  })),
                )
                .execute();
            }
          });
          await new Promise((r) => setImmediate(r));
        }
        this.book.expire();
      } catch (e) {
        this.logger.error({ err: e, entries: changed.length }, 'writing session destinations failed');
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** A session's destinations, newest first: memory, or the store when memory has none. */
  async destinations(sessionId: string, now = Date.now()): Promise<DestinationEntry[]> {
    const inMemory = this.book.of(sessionId, now);
    if (inMemory.length > 0) return inMemory;
    const rows = await this.store.db.selectFrom('session_destinations').selectAll().where('session_id', '=', sessionId).orderBy('last_seen', 'desc').limit(256).execute();
    return rows.map((r) => ({ destination: r.destination, firstSeen: r.first_seen, lastSeen: r.last_seen, flows: r.flows }));
  }

  /**
   * The seed's destination check: did the session contact any of `networks` — within
   * `withinMs` of `now` ('recent'), or as its very last destination ('last')?
   */
  async check(sessionId: string, networks: readonly Cidr[], mode: DestinationCheckMode, withinMs: number, now = Date.now()): Promise<DestinationCheck> {
    const list = await this.destinations(sessionId, now);
    const referential = list[0] ?? null;
    if (mode === 'off') return { contacted: true, mode, match: null, referential };
    const inNetworks = (d: DestinationEntry) => networks.some((n) => cidrContains(n, d.destination));
    const match = mode === 'last' ? (referential && inNetworks(referential) ? referential : null) : list.find((d) => now - d.lastSeen <= withinMs && inNetworks(d)) ?? null;
    return { contacted: match !== null, mode, match, referential };
  }

  async stop(): Promise<void> {
    if (this.flusher) clearInterval(this.flusher);
    await this.flush();
  }
}
