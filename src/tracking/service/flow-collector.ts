import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics, TallyCell } from '../../observability/metrics.ts';
import { FlowDecoder } from '../wire/flow-decoder.ts';
import type { DestinationTracking } from './destination-tracking.ts';
import type { ExporterRegistry } from './exporter-registry.ts';

/**
 * The UDP collector: NetFlow v5/v9 on one port, IPFIX (RFC 7011 §10.3) on another. Both
 * feed one decoder, whose template state is kept per exporter and observation domain, and
 * shared by rank: exporters registered by name before those only inside a range.
 */
export class FlowCollector extends EventEmitter<{ datagram: [{ listener: string; records: number }] }> {
  private sockets: Socket[] = [];
  private readonly decoder = new FlowDecoder();
  private expirer: NodeJS.Timeout | null = null;
  private reloader: NodeJS.Timeout | null = null;
  private readonly datagrams;
  private readonly records;
  private readonly dropped;
  private readonly droppedBy = new Map<string, TallyCell<'cause'>>();

  constructor(
    private readonly exporters: ExporterRegistry,
    private readonly tracking: DestinationTracking,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    super();
    const datagrams = metrics.tally('sideband_flow_datagrams_total', 'Flow export datagrams received, by listener', ['listener']);
    this.datagrams = { netflow: datagrams.at({ listener: 'netflow' }), ipfix: datagrams.at({ listener: 'ipfix' }) };
    this.records = metrics.tally('sideband_flow_records_total', 'Flow records decoded').at();
    // Per datagram, so tallies: an unknown exporter's flood counts here too.
    this.dropped = metrics.tally('sideband_flow_dropped_total', 'Flow datagrams, sets, templates or records dropped, by cause', ['cause']);
    metrics.gauge('sideband_flow_decoder_state', 'Decoder state held in memory', ['kind'], (g) => {
      const s = this.decoder.stats();
      g.set({ kind: 'templates' }, s.templates);
      g.set({ kind: 'held_sets' }, s.heldSets);
      g.set({ kind: 'held_bytes' }, s.heldBytes);
      g.set({ kind: 'exporters' }, s.exporters);
    });
  }

  async listen(host: string, ports: { netflow: number; ipfix: number }): Promise<{ netflow: string; ipfix: string }> {
    const bind = (listener: string, port: number) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 * 1024 * 1024 });
        socket.once('error', reject);
        socket.on('message', (msg, rinfo) => this.receive(listener, msg, rinfo.address));
        socket.bind(port, host, () => {
          socket.off('error', reject);
          socket.on('error', (e) => this.logger.error({ err: e, listener }, 'flow collector socket error'));
          resolve(socket);
        });
      });
    const netflow = await bind('netflow', ports.netflow);
    const ipfix = await bind('ipfix', ports.ipfix);
    this.sockets = [netflow, ipfix];
    this.expirer = setInterval(() => this.count(this.decoder.expire(Date.now())), 1000);
    this.expirer.unref();
    // Exporters registered while the gateway runs (by another process) are allowed within 10 s.
    this.reloader = setInterval(() => this.exporters.load().catch((e) => this.logger.error({ err: e }, 'reloading exporters failed')), 10_000);
    this.reloader.unref();
    const where = (s: Socket) => (host.includes(':') ? `[${s.address().address}]:${s.address().port}` : `${s.address().address}:${s.address().port}`);
    return { netflow: where(netflow), ipfix: where(ipfix) };
  }

  private count(dropped: Partial<Record<string, number>>): void {
    for (const cause in dropped) {
      const n = dropped[cause];
      if (n) this.droppedAs(cause).add(n);
    }
  }

  private droppedAs(cause: string): TallyCell<'cause'> {
    let cell = this.droppedBy.get(cause);
    if (!cell) this.droppedBy.set(cause, (cell = this.dropped.at({ cause })));
    return cell;
  }

  /**
   * Decodes one datagram and attributes its records; public for the benchmark. Emits
   * `datagram` once it is done, for whoever waits on the collector (tests, operators' tools).
   */
  receive(listener: string, msg: Buffer, source: string): number {
    const records = this.decodeAndAttribute(listener, msg, source);
    this.emit('datagram', { listener, records });
    return records;
  }

  private decodeAndAttribute(listener: string, msg: Buffer, source: string): number {
    (listener === 'ipfix' ? this.datagrams.ipfix : this.datagrams.netflow).add();
    const exporter = this.exporters.admit(source);
    if (!exporter) {
      this.droppedAs('unknown-exporter').add();
      return 0;
    }
    const now = Date.now();
    // The decoder hands each record to the tracking as numbers (no FlowRecord, no strings).
    this.tracking.beginFlows(now, exporter.name);
    const { records, dropped } = this.decoder.decodeInto(msg, source, now, exporter.standing, this.tracking);
    this.tracking.endFlows();
    this.count(dropped);
    if (records > 0) this.records.add(records);
    return records;
  }

  async close(): Promise<void> {
    if (this.expirer) clearInterval(this.expirer);
    if (this.reloader) clearInterval(this.reloader);
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets = [];
  }
}
