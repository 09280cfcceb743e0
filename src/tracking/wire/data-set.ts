import type { DecodeContext } from './decode-context.ts';
import { readDataRecords } from './data-record-reader.ts';
import type { MessageHeader } from './message-header.ts';
import type { ObservationDomain } from './observation-domain.ts';
import type { Template } from './template.ts';

/**
 * A Data Set (RFC 7011 §3.3.1) or Data FlowSet (RFC 3954 §5.3) whose records are
 * `bytes[start, end)`: read with its template, or held until the template arrives.
 * Returns how many records were read.
 */
export function decodeDataSet(ctx: DecodeContext, bytes: Buffer, start: number, end: number, domain: ObservationDomain, templateId: number, header: MessageHeader): number {
  const template = ctx.state.cache.template(domain, templateId, ctx.receivedAt);
  if (template !== undefined) return readDataRecords(ctx, bytes, start, end, template, header, domain);
  if (start === end) return 0;
  ctx.countable = false;
  const outcome = ctx.state.held.hold(ctx.exporter, domain.key, templateId, header, bytes.subarray(start, end), ctx.receivedAt, ctx.lowerRanked);
  if (outcome.displaced > 0) ctx.drop('held-set-displaced', outcome.displaced);
  if (!outcome.held) ctx.drop('no-template-overflow');
  return 0;
}

/** Installs a template and reads the Data Sets that were held waiting for it. */
export function installTemplate(ctx: DecodeContext, domain: ObservationDomain, template: Template): void {
  const cause = ctx.state.cache.add(domain, template);
  if (cause !== undefined) ctx.drop(cause);
  if (cause === 'template-limit') return;
  const released = ctx.state.held.release(ctx.exporter, domain.key, template.id);
  if (released.length === 0) return;
  // Held sets belong to earlier messages, whose sequence numbers are settled already.
  const countable = ctx.countable;
  for (const set of released) readDataRecords(ctx, set.records, 0, set.records.length, template, set.header, domain);
  ctx.countable = countable;
}
