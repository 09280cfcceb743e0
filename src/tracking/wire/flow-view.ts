import { formatAddressKey } from '../../core/resolution/address-key.ts';
import { ipv6Text } from './address-text.ts';
import type { FlowRecord } from './flow-record.ts';

const NO_BYTES = Buffer.alloc(0);

/**
 * One flow as numbers, the fields of a {@link FlowRecord} before any of them is turned into
 * a string or an object: what a collector that handles a million records a second reads.
 * The decoder fills one view per datagram and hands it to its {@link FlowSink} record after
 * record, so a view is valid only during the call.
 *
 * An address is an IPv4 address as its unsigned 32-bit value (also when the record carried
 * it IPv4-mapped in IPv6, RFC 4291 §2.5.5.2, as FlowRecord's text does), or else the offset
 * of 16 IPv6 octets in `bytes`.
 */
export class FlowView {
  exporter = '';
  domain = 0;
  /** The octets the IPv6 offsets point into: the datagram, or a held Data Set's copy. */
  bytes: Buffer = NO_BYTES;
  /** -1 when the source is IPv6. */
  sourceV4 = -1;
  /** -1 when the source is IPv4. */
  sourceV6At = -1;
  destinationV4 = -1;
  destinationV6At = -1;
  sourcePort = 0;
  destinationPort = 0;
  protocol = 0;
  packets = 0;
  octets = 0;
  start = 0;
  end = 0;
  /** After NAT, when the exporter reports it; -1 (both) when it does not. */
  natSourceV4 = -1;
  natSourceV6At = -1;
  natDestinationV4 = -1;
  natDestinationV6At = -1;
  /** -1 when absent. */
  natSourcePort = -1;
  natDestinationPort = -1;
}

/** Where a decoder hands each flow it reads. */
export interface FlowSink {
  flow(view: FlowView): void;
}

/** The text FlowRecord gives an address of the view; undefined when absent. */
export function viewAddressText(bytes: Buffer, v4: number, v6At: number): string | undefined {
  if (v4 >= 0) return formatAddressKey(v4);
  return v6At >= 0 ? ipv6Text(bytes, v6At) : undefined;
}

/** The IPv4 address the IPv6 address at `at` carries when it is IPv4-mapped, else -1. */
export function ipv6MappedV4(bytes: Buffer, at: number): number {
  for (let i = 0; i < 10; i++) if (bytes[at + i] !== 0) return -1;
  if (bytes[at + 10] !== 0xff || bytes[at + 11] !== 0xff) return -1;
  return bytes.readUInt32BE(at + 12);
}

/** The view as a FlowRecord, as `FlowDecoder.decode` returns them. */
export function flowRecordOf(view: FlowView): FlowRecord {
  const record: FlowRecord = {
    exporter: view.exporter,
    domain: view.domain,
    sourceAddress: viewAddressText(view.bytes, view.sourceV4, view.sourceV6At)!,
    destinationAddress: viewAddressText(view.bytes, view.destinationV4, view.destinationV6At)!,
    sourcePort: view.sourcePort,
    destinationPort: view.destinationPort,
    protocol: view.protocol,
    packets: view.packets,
    octets: view.octets,
    start: view.start,
    end: view.end,
  };
  const natSource = viewAddressText(view.bytes, view.natSourceV4, view.natSourceV6At);
  const natDestination = viewAddressText(view.bytes, view.natDestinationV4, view.natDestinationV6At);
  if (natSource === undefined && natDestination === undefined && view.natSourcePort < 0 && view.natDestinationPort < 0) return record;
  return {
    ...record,
    ...(natSource === undefined ? {} : { postNATSourceAddress: natSource }),
    ...(natDestination === undefined ? {} : { postNATDestinationAddress: natDestination }),
    ...(view.natSourcePort >= 0 ? { postNAPTSourcePort: view.natSourcePort } : {}),
    ...(view.natDestinationPort >= 0 ? { postNAPTDestinationPort: view.natDestinationPort } : {}),
  };
}
