import type { Receiver } from './replay-sender.ts';

/** What a collector made of the replay, counted by its own means once it has stopped. */
export interface CollectorCount {
  readonly records: number;
  /** Records attributed to a subscriber session (Sideband) or folded into a (source, destination) aggregate (nfacctd); null when the collector does neither. */
  readonly attributed: number | null;
  readonly detail: string;
}

/** One side of the comparison, running and ready for the replay. */
export interface CollectorUnderTest {
  readonly name: string;
  /** What it does with each record, for the summary. */
  readonly work: string;
  readonly receiver: Receiver;
  /** Stops it and counts. */
  finish(): Promise<CollectorCount>;
}
