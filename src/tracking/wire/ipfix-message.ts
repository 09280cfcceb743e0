import type { DecodeContext } from './decode-context.ts';
import { decodeDataSet } from './data-set.ts';
import { decodeTemplateSet, OPTIONS_TEMPLATE_SET_ID, TEMPLATE_SET_ID } from './ipfix-template-set.ts';
import type { MessageHeader } from './message-header.ts';
import { trackSequence } from './sequence-number.ts';
import { MIN_TEMPLATE_ID } from './template.ts';

// RFC 7011 §3.1: Version, Length, Export Time, Sequence Number, Observation Domain ID.
const MESSAGE_HEADER_LENGTH = 16;
const SET_HEADER_LENGTH = 4;

/** An IPFIX Message (RFC 7011 §3): its Sets in order, then its sequence number. */
export function decodeIpfixMessage(ctx: DecodeContext, bytes: Buffer): void {
  if (bytes.length < MESSAGE_HEADER_LENGTH) return ctx.drop('truncated');
  // RFC 7011 §3.1: "Total length of the IPFIX Message, measured in octets, including
  // Message Header and Set(s)." Over UDP a datagram carries exactly one message (RFC 7011 §10.3).
  const length = bytes.readUInt16BE(2);
  if (length > bytes.length) return ctx.drop('truncated');
  if (length < bytes.length) return ctx.drop('message-length');
  const sequence = bytes.readUInt32BE(8);
  const domainId = bytes.readUInt32BE(12);
  const domain = ctx.domain(10, domainId);
  if (domain === undefined) return;
  const header: MessageHeader = { version: 10, domain: domainId, exportTime: bytes.readUInt32BE(4) * 1000, sysUptime: -1 };
  let records = 0;
  let offset = MESSAGE_HEADER_LENGTH;
  while (offset < length) {
    // RFC 7011 §3.3.2: Set ID and Length, "including the Set Header".
    const setLength = length - offset >= SET_HEADER_LENGTH ? bytes.readUInt16BE(offset + 2) : 0;
    if (setLength < SET_HEADER_LENGTH || setLength > length - offset) {
      ctx.drop('set-length');
      ctx.countable = false;
      break;
    }
    const setId = bytes.readUInt16BE(offset);
    const start = offset + SET_HEADER_LENGTH;
    const end = offset + setLength;
    if (setId === TEMPLATE_SET_ID || setId === OPTIONS_TEMPLATE_SET_ID) decodeTemplateSet(ctx, bytes, start, end, setId, domain);
    else if (setId >= MIN_TEMPLATE_ID) records += decodeDataSet(ctx, bytes, start, end, domain, setId, header);
    else ctx.drop('set-id-reserved');
    offset = end;
  }
  const missed = trackSequence(domain.sequence, sequence, ctx.countable ? records : undefined);
  if (missed > 0) ctx.drop('sequence-gap-records', missed);
}
