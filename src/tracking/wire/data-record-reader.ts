import { ipv4Text, ipv6Text } from './address-text.ts';
import type { DecodeContext } from './decode-context.ts';
import type { FlowRecord } from './flow-record.ts';
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
 * its template, appends the flows to `ctx.records`, and returns how many records it read.
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
          fieldLength = bytes.readUInt16BE(at);
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
      values[slot] = bytes.readUInt32BE(at) * 1000;
      return;
    case Encoding.NTP: {
      let seconds = bytes.readUInt32BE(at);
      // RFC 2030 §3: with the top bit clear, the time is in the era that begins in 2036.
      if (seconds < 0x8000_0000) seconds += TWO_32;
      values[slot] = Math.max(0, (seconds - NTP_TO_UNIX_SECONDS) * 1000 + Math.floor(bytes.readUInt32BE(at + 4) / 4_294_967.296));
      return;
    }
  }
}

/** RFC 7011 §6.2 reduced-size encoding: an unsigned integer in 1 to 8 octets. */
function readUnsigned(bytes: Buffer, at: number, length: number): number {
  switch (length) {
    case 1:
      return bytes.readUInt8(at);
    case 2:
      return bytes.readUInt16BE(at);
    case 4:
      return bytes.readUInt32BE(at);
    case 8:
      return bytes.readUInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4);
  }
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes.readUInt8(at + i);
  return value;
}

function finishRecord(ctx: DecodeContext, bytes: Buffer, template: Template, header: MessageHeader, domain: ObservationDomain): void {
  if (template.kind === 'options') {
    const init = values[Slot.SYSTEM_INIT]!;
    if (init >= 0) domain.systemInitTime = init;
    return;
  }
  const sourceAddress = address(bytes, Slot.SOURCE_V4, Slot.SOURCE_V6);
  const destinationAddress = address(bytes, Slot.DESTINATION_V4, Slot.DESTINATION_V6);
  if (sourceAddress === undefined || destinationAddress === undefined) {
    ctx.drop('no-address');
    return;
  }
  let start = time(Slot.START, Slot.START_DELTA, Slot.START_UPTIME, header, domain);
  let end = time(Slot.END, Slot.END_DELTA, Slot.END_UPTIME, header, domain);
  if (start < 0) start = end >= 0 ? end : header.exportTime;
  if (end < 0) end = start;
  const packets = values[Slot.PACKETS]! >= 0 ? values[Slot.PACKETS]! : values[Slot.PACKETS_TOTAL]!;
  const octets = values[Slot.OCTETS]! >= 0 ? values[Slot.OCTETS]! : values[Slot.OCTETS_TOTAL]!;
  const record: FlowRecord = {
    exporter: ctx.exporter,
    domain: header.domain,
    sourceAddress,
    destinationAddress,
    sourcePort: present(Slot.SOURCE_PORT),
    destinationPort: present(Slot.DESTINATION_PORT),
    protocol: present(Slot.PROTOCOL),
    packets: packets >= 0 ? packets : 0,
    octets: octets >= 0 ? octets : 0,
    start,
    end,
  };
  ctx.records.push(hasNat() ? withNat(record, bytes) : record);
}

function present(slot: number): number {
  const value = values[slot]!;
  return value >= 0 ? value : 0;
}

function address(bytes: Buffer, v4: number, v6: number): string | undefined {
  const at4 = values[v4]!;
  if (at4 >= 0) return ipv4Text(bytes, at4);
  const at6 = values[v6]!;
  return at6 >= 0 ? ipv6Text(bytes, at6) : undefined;
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

function hasNat(): boolean {
  for (let slot = Slot.NAT_SOURCE_V4; slot <= Slot.NAT_DESTINATION_PORT; slot++) if (values[slot]! >= 0) return true;
  return false;
}

function withNat(record: FlowRecord, bytes: Buffer): FlowRecord {
  const source = address(bytes, Slot.NAT_SOURCE_V4, Slot.NAT_SOURCE_V6);
  const destination = address(bytes, Slot.NAT_DESTINATION_V4, Slot.NAT_DESTINATION_V6);
  return {
    ...record,
    ...(source === undefined ? {} : { postNATSourceAddress: source }),
    ...(destination === undefined ? {} : { postNATDestinationAddress: destination }),
    ...(values[Slot.NAT_SOURCE_PORT]! >= 0 ? { postNAPTSourcePort: values[Slot.NAT_SOURCE_PORT]! } : {}),
    ...(values[Slot.NAT_DESTINATION_PORT]! >= 0 ? { postNAPTDestinationPort: values[Slot.NAT_DESTINATION_PORT]! } : {}),
  };
}
