import type { DecodeContext } from './decode-context.ts';
import { decodeDataSet } from './data-set.ts';
import type { MessageHeader } from './message-header.ts';
import { decodeOptionsTemplateFlowSet, decodeTemplateFlowSet, OPTIONS_TEMPLATE_FLOWSET_ID, TEMPLATE_FLOWSET_ID } from './netflow-v9-template-flowset.ts';
import { trackSequence } from './sequence-number.ts';
import { MIN_TEMPLATE_ID } from './template.ts';

// RFC 3954 §5.1: Version, Count, sysUpTime, UNIX Secs, Sequence Number, Source ID.
const PACKET_HEADER_LENGTH = 20;
const FLOWSET_HEADER_LENGTH = 4;

/**
 * A NetFlow v9 Export Packet (RFC 3954 §5): its FlowSets in order, then its sequence
 * number. The header's Count is not checked: exporters disagree on what it counts.
 */
export function decodeNetflowV9Packet(ctx: DecodeContext, bytes: Buffer): void {
  if (bytes.length < PACKET_HEADER_LENGTH) return ctx.drop('truncated');
  const sequence = bytes.readUInt32BE(12);
  const sourceId = bytes.readUInt32BE(16);
  const domain = ctx.domain(9, sourceId);
  if (domain === undefined) return;
  const header: MessageHeader = { version: 9, domain: sourceId, exportTime: bytes.readUInt32BE(8) * 1000, sysUptime: bytes.readUInt32BE(4) };
  let offset = PACKET_HEADER_LENGTH;
  // The packet has no length of its own; fewer than four octets left over are padding.
  while (bytes.length - offset >= FLOWSET_HEADER_LENGTH) {
    const flowSetId = bytes.readUInt16BE(offset);
    const length = bytes.readUInt16BE(offset + 2);
    if (length < FLOWSET_HEADER_LENGTH || length > bytes.length - offset) {
      ctx.drop('set-length');
      break;
    }
    const start = offset + FLOWSET_HEADER_LENGTH;
    const end = offset + length;
    if (flowSetId === TEMPLATE_FLOWSET_ID) decodeTemplateFlowSet(ctx, bytes, start, end, domain);
    else if (flowSetId === OPTIONS_TEMPLATE_FLOWSET_ID) decodeOptionsTemplateFlowSet(ctx, bytes, start, end, domain);
    else if (flowSetId >= MIN_TEMPLATE_ID) decodeDataSet(ctx, bytes, start, end, domain, flowSetId, header);
    else ctx.drop('set-id-reserved');
    offset = end;
  }
  const missed = trackSequence(domain.sequence, sequence, 1);
  if (missed > 0) ctx.drop('sequence-gap-packets', missed);
}
