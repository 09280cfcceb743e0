import { u16, u32 } from './big-endian.ts';
import type { DecodeContext } from './decode-context.ts';
import { ipv6MappedV4, type FlowView } from './flow-view.ts';
import { Encoding, Slot, SLOT_COUNT } from './information-element.ts';
import { sysUptimeToEpoch, type MessageHeader } from './message-header.ts';
import type { ObservationDomain } from './observation-domain.ts';
import { VARIABLE_LENGTH, type Template } from './template.ts';

// One record's values by slot; every value read is ≥ 0, so -1 marks one not present.
// Decoding is synchronous, so one scratch array serves every decoder.
const values = new Float64Array(SLOT_COUNT);
const ABSENT = -1;

// RFC 7011 §6.1: dateTimeMicroseconds and dateTimeNanoseconds are NTP timestamps, seconds from 1900.
const NTP_TO_UNIX_SECONDS = 2_208_988_800;
const TWO_32 = 0x1_0000_0000;

/**
 * Reads the data records of one Data Set (`bytes[start, end)`, after the Set Header) with
 * its template, hands each flow to the context's sink, and returns how many records it read.
 * RFC 7011 §3.3.1: octets left over that are too few for a record are padding.
 */
export function readDataRecords(ctx: DecodeContext, bytes: Buffer, start: number, end: number, template: Template, header: MessageHeader, domain: ObservationDomain): number {
  let count = 0;
  const length = template.fixedLength;
  if (length > 0) {
    const plan = template.plan;
    for (let offset = start; end - offset >= length; offset += length) {
      values.fill(ABSENT);
      for (let p = 0; p < plan.length; p += 4) readValue(bytes, offset + plan[p]!, plan[p + 1]!, plan[p + 2]!, plan[p + 3]!);
      finishRecord(ctx, bytes, template, header, domain);
      count++;
    }
    return count;
  }
  const { lengths, slots, encodings, fieldCount, minLength } = template;
  let offset = start;
  while (end - offset >= minLength) {
    values.fill(ABSENT);
    let at = offset;
    for (let i = 0; i < fieldCount; i++) {
      let fieldLength = lengths[i]!;
      if (fieldLength === VARIABLE_LENGTH) {
        // RFC 7011 §7: one length octet, or 255 and then two.
        if (at >= end) return broken(ctx, count);
        fieldLength = bytes.readUInt8(at++);
        if (fieldLength === 255) {
          if (end - at < 2) return broken(ctx, count);
          fieldLength = u16(bytes, at);
          at += 2;
        }
      }
      if (fieldLength > end - at) return broken(ctx, count);
      const slot = slots[i]!;
      if (slot !== Slot.NONE) readValue(bytes, at, fieldLength, slot, encodings[i]!);
      at += fieldLength;
    }
    finishRecord(ctx, bytes, template, header, domain);
    count++;
    offset = at;
  }
  return count;
}

function broken(ctx: DecodeContext, count: number): number {
  ctx.drop('record-invalid');
  ctx.countable = false;
  return count;
}

function readValue(bytes: Buffer, at: number, length: number, slot: number, encoding: number): void {
  switch (encoding) {
    case Encoding.ADDRESS:
      values[slot] = at;
      return;
    case Encoding.UNSIGNED:
    case Encoding.MILLISECONDS:
      values[slot] = readUnsigned(bytes, at, length);
      return;
    case Encoding.SECONDS:
      values[slot] = u32(bytes, at) * 1000;
      return;
    case Encoding.NTP: {
      let seconds = u32(bytes, at);
      // RFC 2030 §3: with the top bit clear, the time is in the era that begins in 2036.
      if (seconds < 0x8000_0000) seconds += TWO_32;
      values[slot] = Math.max(0, (seconds - NTP_TO_UNIX_SECONDS) * 1000 + Math.floor(u32(bytes, at + 4) / 4_294_967.296));
      return;
    }
  }
}

/** RFC 7011 §6.2 reduced-size encoding: an unsigned integer in 1 to 8 octets. */
function readUnsigned(bytes: Buffer, at: number, length: number): number {
  switch (length) {
    case 1:
      return bytes[at]!;
    case 2:
      return u16(bytes, at);
    case 4:
      return u32(bytes, at);
    case 8:
      return u32(bytes, at) * TWO_32 + u32(bytes, at + 4);
  }
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[at + i]!;
  return value;
}

function finishRecord(ctx: DecodeContext, bytes: Buffer, template: Template, header: MessageHeader, domain: ObservationDomain): void {
  if (template.kind === 'options') {
    const init = values[Slot.SYSTEM_INIT]!;
    if (init >= 0) domain.systemInitTime = init;
    return;
  }
  const view = ctx.view;
  view.bytes = bytes;
  if (!address(view, bytes, Slot.SOURCE_V4, Slot.SOURCE_V6, SOURCE) || !address(view, bytes, Slot.DESTINATION_V4, Slot.DESTINATION_V6, DESTINATION)) {
    ctx.drop('no-address');
    return;
  }
  let start = time(Slot.START, Slot.START_DELTA, Slot.START_UPTIME, header, domain);
  let end = time(Slot.END, Slot.END_DELTA, Slot.END_UPTIME, header, domain);
  if (start < 0) start = end >= 0 ? end : header.exportTime;
  if (end < 0) end = start;
  const packets = values[Slot.PACKETS]! >= 0 ? values[Slot.PACKETS]! : values[Slot.PACKETS_TOTAL]!;
  const octets = values[Slot.OCTETS]! >= 0 ? values[Slot.OCTETS]! : values[Slot.OCTETS_TOTAL]!;
  view.domain = header.domain;
  view.sourcePort = present(Slot.SOURCE_PORT);
  view.destinationPort = present(Slot.DESTINATION_PORT);
  view.protocol = present(Slot.PROTOCOL);
  view.packets = packets >= 0 ? packets : 0;
  view.octets = octets >= 0 ? octets : 0;
  view.start = start;
  view.end = end;
  // Absent fields read -1, which is what the view says for "not reported".
  address(view, bytes, Slot.NAT_SOURCE_V4, Slot.NAT_SOURCE_V6, NAT_SOURCE);
  address(view, bytes, Slot.NAT_DESTINATION_V4, Slot.NAT_DESTINATION_V6, NAT_DESTINATION);
  view.natSourcePort = values[Slot.NAT_SOURCE_PORT]!;
  view.natDestinationPort = values[Slot.NAT_DESTINATION_PORT]!;
  ctx.emit();
}

function present(slot: number): number {
  const value = values[slot]!;
  return value >= 0 ? value : 0;
}

const SOURCE = 0;
const DESTINATION = 1;
const NAT_SOURCE = 2;
const NAT_DESTINATION = 3;

/**
 * Sets one of the view's addresses from the slots: its IPv4 value, or the offset of its
 * IPv6 octets (an IPv4-mapped one as the IPv4 address it carries). False when absent.
 */
function address(view: FlowView, bytes: Buffer, v4: number, v6: number, which: number): boolean {
  let value = -1;
  let v6At = -1;
  const at4 = values[v4]!;
  if (at4 >= 0) value = u32(bytes, at4);
  else {
    const at6 = values[v6]!;
    if (at6 >= 0) {
      value = ipv6MappedV4(bytes, at6);
      if (value < 0) v6At = at6;
    }
  }
  switch (which) {
    case SOURCE:
      view.sourceV4 = value;
      view.sourceV6At = v6At;
      break;
    case DESTINATION:
      view.destinationV4 = value;
      view.destinationV6At = v6At;
      break;
    case NAT_SOURCE:
      view.natSourceV4 = value;
      view.natSourceV6At = v6At;
      break;
    default:
      view.natDestinationV4 = value;
      view.natDestinationV6At = v6At;
  }
  return value >= 0 || v6At >= 0;
}

/** Absolute time, else a delta from export time, else sysUpTime; -1 when the record has none. */
function time(absolute: number, delta: number, uptime: number, header: MessageHeader, domain: ObservationDomain): number {
  if (values[absolute]! >= 0) return values[absolute]!;
  // flowStartDeltaMicroseconds and flowEndDeltaMicroseconds count back from the Export Time.
  if (values[delta]! >= 0) return header.exportTime - Math.round(values[delta]! / 1000);
  const ticks = values[uptime]!;
  if (ticks < 0) return -1;
  if (header.sysUptime >= 0) return sysUptimeToEpoch(header.exportTime, header.sysUptime, ticks);
  // IPFIX flowStartSysUpTime counts from systemInitTimeMilliseconds, which an options
  // record carries (softflowd sends one); until one arrives the time is unknown.
  if (domain.systemInitTime < 0) return -1;
  return sysUptimeToEpoch(header.exportTime, header.exportTime - domain.systemInitTime, ticks);
}
