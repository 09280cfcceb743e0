import type { DecoderLimits } from './decoder-limits.ts';
import type { DropCause, DropCounts } from './drop-cause.ts';
import type { ExporterStanding } from './exporter-ranking.ts';
import { FlowView, type FlowSink } from './flow-view.ts';
import type { HeldDataSets } from './held-data-sets.ts';
import type { ExportVersion } from './message-header.ts';
import type { ObservationDomain } from './observation-domain.ts';
import type { TemplateCache } from './template-cache.ts';

/** What a decoder keeps between datagrams. */
export interface DecoderState {
  readonly limits: DecoderLimits;
  readonly cache: TemplateCache;
  readonly held: HeldDataSets;
}

/** One datagram's decoding: where its records and drop counts go. */
export class DecodeContext {
  /** Filled for each record in turn and handed to the sink. */
  readonly view = new FlowView();
  /** Records handed to the sink. */
  records = 0;
  readonly dropped: DropCounts = {};
  /**
   * False once the current message held records that could not be counted (a Data Set
   * without its template, a broken record), so its sequence number cannot be followed.
   */
  countable = true;

  constructor(
    readonly state: DecoderState,
    readonly exporter: string,
    readonly standing: ExporterStanding,
    readonly receivedAt: number,
    readonly sink: FlowSink,
  ) {
    this.view.exporter = exporter;
  }

  /** Hands the view, filled with one record, to the sink. */
  emit(): void {
    this.records++;
    this.sink.flow(this.view);
  }

  drop(cause: DropCause, count = 1): void {
    this.dropped[cause] = (this.dropped[cause] ?? 0) + count;
  }

  /** The exporter's domain from the cache; undefined (and the cause counted) when a limit refused it. */
  domain(version: ExportVersion, id: number): ObservationDomain | undefined {
    const domain = this.state.cache.domain(this.exporter, this.standing, version, id, this.receivedAt, this);
    if (typeof domain !== 'string') return domain;
    this.drop(domain);
    return undefined;
  }

  /** For TemplateCache.domain: another exporter's state made room for this one's; what else it kept goes too. */
  exporterDisplaced(displaced: string): void {
    this.drop('exporter-displaced');
    const sets = this.state.held.discard(displaced);
    if (sets > 0) this.drop('held-set-displaced', sets);
  }

  /**
   * For HeldDataSets: the lowest-ranked exporter below this one that holds something. A
   * getter, so that the closure is made only for a datagram that holds a set, not for each.
   */
  get lowerRanked(): (holds: (exporter: string) => boolean) => string | undefined {
    return (holds) => this.state.cache.lowestBelow(this.exporter, holds);
  }
}
