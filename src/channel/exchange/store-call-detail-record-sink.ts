import type { Logger } from '../../observability/logger.ts';
import { DurableWrites } from '../../store/durable-writes.ts';
import type { Store } from '../../store/open-store.ts';
import { PreparedInsert, allColumns } from '../../store/prepared-statement.ts';
import type { CallRecordTable } from '../../store/schema.ts';
import type { CallDetailRecord } from './call-detail-record.ts';
import type { CallDetailRecordSink } from './call-detail-record-sink.ts';

const insertRecord = new PreparedInsert<CallRecordTable>('call_records', allColumns<CallRecordTable>({
  id: true, call_id: true, caller: true, callee: true, dialed: true, billed: true, reverse_charge: true, status: true, outcome: true, bytes: true, started_at: true, answered_at: true, ended_at: true,
}));

/** Call detail records into the store's `call_records`, retried a few times before they are logged as lost. */
export class StoreCallDetailRecordSink implements CallDetailRecordSink {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    /** Shared with the channel's other writes (channel-part.ts), so concurrent ones share a commit. */
    private readonly writes: DurableWrites = new DurableWrites(store),
  ) {}

  async write(r: CallDetailRecord): Promise<void> {
    const row: CallRecordTable = {
      id: r.id, call_id: r.callId, caller: r.callerNumber, callee: r.calleeLine ?? r.calledNumber, dialed: r.calledNumber, billed: r.billedNumber,
      reverse_charge: r.reverseCharge ? 1 : 0, status: r.status, outcome: r.outcome, bytes: r.bytes,
      started_at: r.startedAt.getTime(), answered_at: r.answeredAt ? r.answeredAt.getTime() : null, ended_at: r.endedAt.getTime(),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writes.one((q) => insertRecord.run(q, this.store.dialect, row));
        return;
      } catch (e) {
        if (attempt >= 3) {
          this.logger.error({ err: e, callId: r.callId }, 'call detail record lost');
          return;
        }
        await new Promise((res) => setTimeout(res, 100 * attempt));
      }
    }
  }
}
