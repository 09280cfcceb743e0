import type { DecoderLimits } from './decoder-limits.ts';
import type { DropCause, DropCounts } from './drop-cause.ts';
import type { FlowRecord } from './flow-record.ts';
import type { HeldDataSets } from './held-data-sets.ts';
import type { TemplateCache } from './template-cache.ts';

/** What a decoder keeps between datagrams. */
export interface DecoderState {
  readonly limits: DecoderLimits;
  readonly cache: TemplateCache;
  readonly held: HeldDataSets;
}

/** One datagram's decoding: where its records and drop counts go. */
export class DecodeContext {
  readonly records: FlowRecord[] = [];
  readonly dropped: DropCounts = {};
  /**
   * False once the current message held records that could not be counted (a Data Set
   * without its template, a broken record), so its sequence number cannot be followed.
   */
  countable = true;

  constructor(
    readonly state: DecoderState,
    readonly exporter: string,
    readonly receivedAt: number,
  ) {}

  drop(cause: DropCause, count = 1): void {
    this.dropped[cause] = (this.dropped[cause] ?? 0) + count;
  }
}
