import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per gateway process, so that tests running several gateways in one
 * process see their own counters. Parts register their metrics on it at construction.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor({ defaults = true }: { defaults?: boolean } = {}) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'sideband_' });
  }

  /** Two parts counting the same thing (each group commit's failures) share one counter. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return (this.registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** `collect` runs at each scrape, for gauges read off live state. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (gauge: Gauge<L>) => void): Gauge<L> {
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect(this: Gauge<L>) { collect(this); } } : {}) });
  }

  /**
   * A counter for a path that runs per datagram or per record: `tally.at(labels)` is bound
   * once, and its `add` bumps a plain number that prom-client is told of at each scrape.
   * prom-client's own `inc` hashes and validates its labels on every call, which cost the
   * flow collector about as much per datagram as decoding two of its records.
   */
  tally<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Tally<L> {
    let tally = this.tallies.get(name) as Tally<L> | undefined;
    if (!tally) {
      const cells: TallyCell<L>[] = [];
      const counter = new Counter<L>({
        name, help, labelNames, registers: [this.registry],
        collect() {
          for (const c of cells) {
            if (c.n === c.told) continue;
            this.inc(c.labels, c.n - c.told);
            c.told = c.n;
          }
        },
      });
      tally = new Tally(counter, cells);
      this.tallies.set(name, tally);
    }
    return tally;
  }

  private readonly tallies = new Map<string, Tally<string>>();

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
  }
}

/** One label set of a Tally: `add` is a field increment. */
export class TallyCell<L extends string> {
  n = 0;
  /** What the counter has been told so far. */
  told = 0;
  constructor(readonly labels: Partial<Record<L, string>>) {}
  add(by = 1): void {
    this.n += by;
  }
}

export class Tally<L extends string> {
  constructor(
    /** The prom-client counter behind it, for tests and for reading a value now. */
    readonly counter: Counter<L>,
    private readonly cells: TallyCell<L>[],
  ) {}

  /** The cell for `labels`: look it up once and keep it, then `add` to it. */
  at(labels: Partial<Record<L, string>> = {}): TallyCell<L> {
    const keys = Object.keys(labels) as L[];
    const same = (c: TallyCell<L>) => keys.length === Object.keys(c.labels).length && keys.every((k) => c.labels[k] === labels[k]);
    let cell = this.cells.find(same);
    if (!cell) {
      cell = new TallyCell(labels);
      this.cells.push(cell);
    }
    return cell;
  }
}
