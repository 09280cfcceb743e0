/** Counts of what the load generators saw, by label ("radius access accept", "authorization error 503 …"). */
export class Tally {
  private readonly counts = new Map<string, number>();
  private reported = new Map<string, number>();

  add(label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
  }

  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }

  /** Everything counted so far, by label. */
  totals(): ReadonlyMap<string, number> {
    return new Map(this.counts);
  }

  /** What was counted since the last call. */
  sinceLastReport(): Map<string, number> {
    const delta = new Map<string, number>();
    for (const [label, n] of this.counts) {
      const d = n - (this.reported.get(label) ?? 0);
      if (d > 0) delta.set(label, d);
    }
    this.reported = new Map(this.counts);
    return delta;
  }
}
