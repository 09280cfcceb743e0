/**
 * How a source was allowed to export: `named`, its own address registered under a name (a
 * /32 or /128), or `range`, only inside a registered range. Named exporters are the
 * operator's known devices; anything in a range may be one of them or anyone who can send
 * from an address there.
 */
export type ExporterStanding = 'named' | 'range';

/** What the ranking needs of an exporter's entry. */
export interface Ranked {
  /** The registry's word at the exporter's last datagram: it may be registered by name later. */
  standing: ExporterStanding;
  /** When it was first heard from, as an ever-growing count. */
  readonly arrival: number;
  removed: boolean;
}

// Entries removed from the middle are skipped until they outnumber the live ones.
const COMPACT_AFTER = 64;

/**
 * Who gives way when a table the exporters share is full: an exporter registered by name
 * outranks one only inside a range, and within a standing the one known longer outranks
 * the newer. So the newest range-admitted exporter is the first to lose, and a flood of
 * new sources from a range never takes room from exporters known before it, nor from any
 * exporter registered by name.
 */
export class ExporterRanking<E extends Ranked> {
  /** Oldest first. */
  #order: E[] = [];
  #removed = 0;
  #next = 0;

  nextArrival(): number {
    return this.#next++;
  }

  add(entry: E): void {
    this.#order.push(entry);
  }

  remove(entry: E): void {
    if (entry.removed) return;
    entry.removed = true;
    if (++this.#removed > COMPACT_AFTER && this.#removed * 2 > this.#order.length) {
      this.#order = this.#order.filter((e) => !e.removed);
      this.#removed = 0;
    }
  }

  /**
   * The lowest-ranked entry below an exporter of this standing and arrival for which
   * `holds` is true: the newest range-admitted ones first, then (below a named exporter
   * only) the named ones newer than it. Undefined when nobody ranks below.
   */
  lowestBelow(standing: ExporterStanding, arrival: number, holds: (entry: E) => boolean): E | undefined {
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const e = this.#order[i] as E;
      if (e.removed || e.standing !== 'range') continue;
      if (standing === 'range' && e.arrival <= arrival) break;
      if (holds(e)) return e;
    }
    if (standing === 'range') return undefined;
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const e = this.#order[i] as E;
      if (e.arrival <= arrival) break;
      if (!e.removed && e.standing === 'named' && holds(e)) return e;
    }
    return undefined;
  }
}
