import type { CallDetailRecord } from './call-detail-record.ts';

/**
 * Where the exchange writes call detail records. A store-backed sink makes write durable
 * before resolving; the exchange logs a failed write and goes on (the call is over either
 * way), so a sink that must never lose a record should queue and retry itself.
 */
export interface CallDetailRecordSink {
  write(record: CallDetailRecord): Promise<void> | void;
}
