import type { CallDetailRecord } from './call-detail-record.ts';
import type { CallDetailRecordSink } from './call-detail-record-sink.ts';

/** Keeps records in memory (the newest `limit`), for tests and a standalone exchange. */
export class InMemoryCallDetailRecordSink implements CallDetailRecordSink {
  private readonly kept: CallDetailRecord[] = [];
  private readonly waiters: { match: (r: CallDetailRecord) => boolean; resolve: (r: CallDetailRecord) => void }[] = [];

  constructor(private readonly limit = 10_000) {}

  get records(): readonly CallDetailRecord[] {
    return this.kept;
  }

  write(record: CallDetailRecord): void {
    this.kept.push(record);
    if (this.kept.length > this.limit) this.kept.shift();
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(record)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(record);
    }
  }

  /** Resolves with the first record (already written or still to come) that matches. */
  next(match: (record: CallDetailRecord) => boolean): Promise<CallDetailRecord> {
    const found = this.kept.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
