import type { DecoderLimits } from './decoder-limits.ts';
import type { MessageHeader } from './message-header.ts';

/** A Data Set that arrived before its template, waiting for it. */
export interface HeldDataSet {
  readonly domainKey: number;
  readonly templateId: number;
  readonly header: MessageHeader;
  /** A copy of the Set's records, without the Set Header. */
  readonly records: Buffer;
  readonly receivedAt: number;
}

interface ExporterHold {
  /** Oldest first. */
  queue: HeldDataSet[];
  /** How many queued sets wait on each `holdKey`. */
  readonly waiting: Map<number, number>;
  bytes: number;
}

// Charged per held set besides its octets, so that a flood of tiny sets is bounded too.
const SET_OVERHEAD = 64;

const NOTHING: readonly HeldDataSet[] = Object.freeze([]);

const holdKey = (domainKey: number, templateId: number): number => domainKey * 65536 + templateId;

/** What became of a set offered to hold, and how many of a lower-ranked exporter's sets went to make room. */
export interface HoldOutcome {
  readonly held: boolean;
  readonly displaced: number;
}

/**
 * Data Sets held for a template that has not arrived yet: over UDP (RFC 7011 §8.4) a
 * template can be lost or overtaken by the data that uses it, and an exporter's periodic
 * refresh brings it again soon after. Each exporter may hold `maxHeldSetsPerExporter`
 * sets and `maxHeldBytesPerExporter` octets, all together `maxHeldBytes`, each set for
 * `holdTime`. When the whole hold is full, the oldest sets of the lowest-ranked exporter
 * below the one offering (ExporterRanking, asked through `lowerRanked`) make room; with
 * nobody below it, the set is refused.
 */
export class HeldDataSets {
  readonly #limits: DecoderLimits;
  readonly #exporters = new Map<string, ExporterHold>();
  #bytes = 0;
  #sets = 0;

  constructor(limits: DecoderLimits) {
    this.#limits = limits;
  }

  get byteCount(): number {
    return this.#bytes;
  }

  get setCount(): number {
    return this.#sets;
  }

  /** Holds a copy of `records`, unless the exporter's share is full or no room can be made. */
  hold(exporter: string, domainKey: number, templateId: number, header: MessageHeader, records: Buffer, receivedAt: number, lowerRanked?: (holds: (exporter: string) => boolean) => string | undefined): HoldOutcome {
    const cost = records.length + SET_OVERHEAD;
    let entry = this.#exporters.get(exporter);
    if ((entry?.bytes ?? 0) + cost > this.#limits.maxHeldBytesPerExporter || (entry?.queue.length ?? 0) >= this.#limits.maxHeldSetsPerExporter) return { held: false, displaced: 0 };
    let displaced = 0;
    while (this.#bytes + cost > this.#limits.maxHeldBytes) {
      const victim = lowerRanked?.((name) => name !== exporter && this.#exporters.has(name));
      if (victim === undefined) return { held: false, displaced };
      displaced += this.#dropOldest(victim);
    }
    if (entry === undefined) {
      entry = { queue: [], waiting: new Map(), bytes: 0 };
      this.#exporters.set(exporter, entry);
    }
    entry.queue.push({ domainKey, templateId, header, records: Buffer.from(records), receivedAt });
    const key = holdKey(domainKey, templateId);
    entry.waiting.set(key, (entry.waiting.get(key) ?? 0) + 1);
    entry.bytes += cost;
    this.#bytes += cost;
    this.#sets++;
    return { held: true, displaced };
  }

  /** Drops everything an exporter holds (it was displaced); returns how many sets. */
  discard(exporter: string): number {
    const entry = this.#exporters.get(exporter);
    if (entry === undefined) return 0;
    const sets = entry.queue.splice(0);
    entry.waiting.clear();
    this.#forget(exporter, entry, sets);
    return sets.length;
  }

  /** Takes out the sets waiting for this template, oldest first. */
  release(exporter: string, domainKey: number, templateId: number): readonly HeldDataSet[] {
    const entry = this.#exporters.get(exporter);
    const key = holdKey(domainKey, templateId);
    if (entry === undefined || !entry.waiting.has(key)) return NOTHING;
    const released: HeldDataSet[] = [];
    const kept: HeldDataSet[] = [];
    for (const set of entry.queue) (holdKey(set.domainKey, set.templateId) === key ? released : kept).push(set);
    entry.queue = kept;
    entry.waiting.delete(key);
    this.#forget(exporter, entry, released);
    return released;
  }

  /** Drops sets held longer than `holdTime` (from one exporter, or all) and returns how many. */
  expire(now: number, exporter?: string): number {
    if (exporter !== undefined) {
      const entry = this.#exporters.get(exporter);
      return entry === undefined ? 0 : this.#expireFrom(exporter, entry, now);
    }
    let expired = 0;
    for (const [name, entry] of this.#exporters) expired += this.#expireFrom(name, entry, now);
    return expired;
  }

  #expireFrom(exporter: string, entry: ExporterHold, now: number): number {
    let n = 0;
    while (n < entry.queue.length && now - (entry.queue[n] as HeldDataSet).receivedAt > this.#limits.holdTime) n++;
    return this.#dropFirst(exporter, entry, n);
  }

  /** The exporter's oldest set; returns 1, or 0 when it held none. */
  #dropOldest(exporter: string): number {
    const entry = this.#exporters.get(exporter);
    return entry === undefined ? 0 : this.#dropFirst(exporter, entry, 1);
  }

  #dropFirst(exporter: string, entry: ExporterHold, n: number): number {
    if (n === 0) return 0;
    const expired = entry.queue.splice(0, n);
    for (const set of expired) {
      const key = holdKey(set.domainKey, set.templateId);
      const left = (entry.waiting.get(key) ?? 1) - 1;
      if (left === 0) entry.waiting.delete(key);
      else entry.waiting.set(key, left);
    }
    this.#forget(exporter, entry, expired);
    return n;
  }

  #forget(exporter: string, entry: ExporterHold, sets: readonly HeldDataSet[]): void {
    for (const set of sets) {
      const cost = set.records.length + SET_OVERHEAD;
      entry.bytes -= cost;
      this.#bytes -= cost;
      this.#sets--;
    }
    if (entry.queue.length === 0) this.#exporters.delete(exporter);
  }
}
