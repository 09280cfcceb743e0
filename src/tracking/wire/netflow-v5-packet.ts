import { u16, u32 } from './big-endian.ts';
import type { DecodeContext } from './decode-context.ts';
import { sysUptimeToEpoch } from './message-header.ts';
import { trackSequence } from './sequence-number.ts';

// Cisco's NetFlow v5 export format: a 24-octet header, then Count records of 48 octets.
const HEADER_LENGTH = 24;
const RECORD_LENGTH = 48;
const MAX_RECORDS = 30;

/**
 * A NetFlow v5 export packet. The domain is `engine_type << 8 | engine_id`, and
 * flow_sequence counts flows, so loss is counted in records.
 */
export function decodeNetflowV5Packet(ctx: DecodeContext, bytes: Buffer): void {
  if (bytes.length < HEADER_LENGTH) return ctx.drop('truncated');
  const count = bytes.readUInt16BE(2);
  if (count === 0 || count > MAX_RECORDS) return ctx.drop('record-count');
  const length = HEADER_LENGTH + count * RECORD_LENGTH;
  if (bytes.length < length) return ctx.drop('truncated');
  if (bytes.length > length) return ctx.drop('message-length');
  const engine = (bytes.readUInt8(20) << 8) | bytes.readUInt8(21);
  const domain = ctx.domain(5, engine);
  if (domain === undefined) return;
  const exportTime = bytes.readUInt32BE(8) * 1000 + Math.floor(bytes.readUInt32BE(12) / 1e6);
  const sysUptime = bytes.readUInt32BE(4);
  for (let at = HEADER_LENGTH; at < length; at += RECORD_LENGTH) {
    // srcaddr, dstaddr, nexthop, input, output, dPkts, dOctets, First, Last, srcport, dstport, pad1, tcp_flags, prot, …
    const view = ctx.view;
    view.bytes = bytes;
    view.domain = engine;
    view.sourceV4 = u32(bytes, at);
    view.sourceV6At = -1;
    view.destinationV4 = u32(bytes, at + 4);
    view.destinationV6At = -1;
    view.sourcePort = u16(bytes, at + 32);
    view.destinationPort = u16(bytes, at + 34);
    view.protocol = bytes[at + 38]!;
    view.packets = u32(bytes, at + 16);
    view.octets = u32(bytes, at + 20);
    view.start = sysUptimeToEpoch(exportTime, sysUptime, u32(bytes, at + 24));
    view.end = sysUptimeToEpoch(exportTime, sysUptime, u32(bytes, at + 28));
    view.natSourceV4 = view.natSourceV6At = view.natDestinationV4 = view.natDestinationV6At = -1;
    view.natSourcePort = view.natDestinationPort = -1;
    ctx.emit();
  }
  const missed = trackSequence(domain.sequence, bytes.readUInt32BE(16), count);
  if (missed > 0) ctx.drop('sequence-gap-records', missed);
}
