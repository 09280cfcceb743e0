import { DecodeContext, type DecoderState } from './decode-context.ts';
import { resolveDecoderLimits, type DecoderLimits } from './decoder-limits.ts';
import type { DropCause, DropCounts } from './drop-cause.ts';
import type { ExporterStanding } from './exporter-ranking.ts';
import type { FlowRecord } from './flow-record.ts';
import { flowRecordOf, type FlowSink, type FlowView } from './flow-view.ts';
import { HeldDataSets } from './held-data-sets.ts';
import { decodeIpfixMessage } from './ipfix-message.ts';
import type { ExportVersion } from './message-header.ts';
import { decodeNetflowV5Packet } from './netflow-v5-packet.ts';
import { decodeNetflowV9Packet } from './netflow-v9-packet.ts';
import { TemplateCache } from './template-cache.ts';

export interface DecodeResult {
  readonly records: FlowRecord[];
  /** Only the causes that occurred. */
  readonly dropped: DropCounts;
}

/** What `decodeInto` returns: how many records went to the sink, and what was dropped. */
export interface DecodeCount {
  readonly records: number;
  /** Only the causes that occurred. */
  readonly dropped: DropCounts;
}

/** Collects FlowRecords, for `decode`. */
class RecordList implements FlowSink {
  readonly records: FlowRecord[] = [];
  flow(view: FlowView): void {
    this.records.push(flowRecordOf(view));
  }
}

/** State sizes (gauges) and running totals (counters) for metrics. */
export interface DecoderStats {
  readonly exporters: number;
  readonly domains: number;
  readonly templates: number;
  readonly heldSets: number;
  readonly heldBytes: number;
  readonly datagrams: number;
  readonly records: number;
  readonly templatesExpired: number;
  readonly dropped: DropCounts;
}

type VersionDecoder = (ctx: DecodeContext, bytes: Buffer) => void;

// The Version field is the first two octets in all three formats.
const versionDecoders: Record<ExportVersion, VersionDecoder> = {
  5: decodeNetflowV5Packet,
  9: decodeNetflowV9Packet,
  10: decodeIpfixMessage,
};

/**
 * Turns NetFlow v5, NetFlow v9 and IPFIX datagrams into flow records, remembering each
 * exporter's templates and sequence numbers within `DecoderLimits`. It never throws on
 * input: what it cannot use is counted by cause.
 *
 * @example
 * const decoder = new FlowDecoder({ holdTime: 5000 });
 * socket.on('message', (msg, rinfo) => {
 *   const { records, dropped } = decoder.decode(msg, rinfo.address, Date.now());
 * });
 * setInterval(() => decoder.expire(Date.now()), 1000);
 */
export class FlowDecoder {
  readonly limits: DecoderLimits;
  readonly #state: DecoderState;
  readonly #dropped: DropCounts = {};
  #datagrams = 0;
  #records = 0;
  #templatesExpired = 0;

  /** Throws CONFIG_INVALID when a limit is not a positive whole number. */
  constructor(limits: Partial<DecoderLimits> = {}) {
    this.limits = resolveDecoderLimits(limits);
    this.#state = { limits: this.limits, cache: new TemplateCache(this.limits), held: new HeldDataSets(this.limits) };
  }

  /**
   * Decodes one datagram from `exporter` (its address) received at `receivedAt` (epoch ms).
   * `standing` says how the exporter was allowed, which decides who gives way when a table
   * is full (ExporterRanking); `named` unless given.
   */
  decode(datagram: Uint8Array, exporter: string, receivedAt: number, standing: ExporterStanding = 'named'): DecodeResult {
    const list = new RecordList();
    const { dropped } = this.decodeInto(datagram, exporter, receivedAt, standing, list);
    return { records: list.records, dropped };
  }

  /**
   * `decode`, handing each record to `sink` as a {@link FlowView} (numbers, valid during the
   * call) instead of building a FlowRecord and its address strings: the collector's path.
   * The drops counted are the same. Should the sink throw, the rest of the datagram is
   * dropped and counted as `decoder-fault`.
   */
  decodeInto(datagram: Uint8Array, exporter: string, receivedAt: number, standing: ExporterStanding, sink: FlowSink): DecodeCount {
    const bytes = Buffer.isBuffer(datagram) ? datagram : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const ctx = new DecodeContext(this.#state, exporter, standing, receivedAt, sink);
    const expired = this.#state.held.expire(receivedAt, exporter);
    if (expired > 0) ctx.drop('no-template-expired', expired);
    try {
      const decodeVersion = bytes.length < 2 ? undefined : (versionDecoders as Partial<Record<number, VersionDecoder>>)[bytes.readUInt16BE(0)];
      if (bytes.length < 2) ctx.drop('truncated');
      else if (decodeVersion === undefined) ctx.drop('unknown-version');
      else decodeVersion(ctx, bytes);
    } catch {
      // The parsers check every length before reading, so this is a bug, not bad input;
      // the collector keeps running and the count makes it visible.
      ctx.drop('decoder-fault');
    }
    this.#datagrams++;
    this.#records += ctx.records;
    this.#tally(ctx.dropped);
    return { records: ctx.records, dropped: ctx.dropped };
  }

  /**
   * Drops held Data Sets past `holdTime` and templates past `templateLifetime`, and forgets
   * idle domains and exporters. Call it every second or so; returns what was dropped.
   */
  expire(now: number): DropCounts {
    const dropped: DropCounts = {};
    const expired = this.#state.held.expire(now);
    if (expired > 0) dropped['no-template-expired'] = expired;
    this.#templatesExpired += this.#state.cache.expire(now);
    this.#tally(dropped);
    return dropped;
  }

  stats(): DecoderStats {
    const { cache, held } = this.#state;
    return {
      exporters: cache.exporterCount,
      domains: cache.domainCount,
      templates: cache.templateCount,
      heldSets: held.setCount,
      heldBytes: held.byteCount,
      datagrams: this.#datagrams,
      records: this.#records,
      templatesExpired: this.#templatesExpired,
      dropped: { ...this.#dropped },
    };
  }

  #tally(dropped: DropCounts): void {
    for (const cause in dropped) {
      const key = cause as DropCause;
      this.#dropped[key] = (this.#dropped[key] ?? 0) + (dropped[key] ?? 0);
    }
  }
}
