import type { AttributeInput } from '../wire/encode-packet.ts';
import { decodeTlvs, encodeTlvs, extendedAttribute, readExtended, type Tlv } from '../wire/extended-attribute.ts';
import { IpPortAlloc, IpPortTlv, ipPortAttributes } from '../wire/ip-port-dictionary.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';

/**
 * What Sideband tells a NAT of a subscriber's port block (RFC 8045 §3.2), and how many
 * ports that is (§3.1). `protocol` is the IP-Port-Type, an IPFIX protocolIdentifier: 6 TCP,
 * 17 UDP; Sideband's blocks serve every transport and carry 0 (see docs/radius.md).
 */
export interface PortBlockGrant {
  readonly externalAddress: string;
  readonly first: number;
  readonly last: number;
  readonly protocol?: number;
}

/** One IP-Port-Range as a NAT reported it in an Accounting-Request. */
export interface ReportedPortRange {
  readonly alloc: 'allocation' | 'deallocation';
  readonly protocol: number | null;
  /** IP-Port-Ext-IPv4-Addr; null when the NAT left it out (the session's own address is meant). */
  readonly externalAddress: string | null;
  readonly first: number;
  readonly last: number;
  readonly internalAddress: string | null;
  readonly localId: string | null;
}

/** Why an IP-Port-Range could not be read: each a label of the counter of refused reports. */
export type PortRangeFault = 'tlv-malformed' | 'alloc-missing' | 'range-missing' | 'range-invalid';

export type ReadPortRanges = { readonly ranges: ReportedPortRange[]; readonly faults: PortRangeFault[] };

const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const ipv4 = (text: string): Buffer => Buffer.from(text.split('.').map(Number));

/**
 * The Access-Accept's attributes for a port block: IP-Port-Range with
 * IP-Port-Alloc = Allocation, the external address and the first and last port (RFC 8045
 * §3.2), then IP-Port-Limit-Info with the block's size as IP-Port-Limit (§3.1).
 */
export function portBlockAttributes(block: PortBlockGrant): AttributeInput[] {
  const protocol = uint32(block.protocol ?? 0);
  const range = encodeTlvs([
    { type: IpPortTlv['IP-Port-Type'], value: protocol },
    { type: IpPortTlv['IP-Port-Alloc'], value: uint32(IpPortAlloc.Allocation) },
    { type: IpPortTlv['IP-Port-Ext-IPv4-Addr'], value: ipv4(block.externalAddress) },
    { type: IpPortTlv['IP-Port-Range-Start'], value: uint32(block.first) },
    { type: IpPortTlv['IP-Port-Range-End'], value: uint32(block.last) },
  ]);
  const limit = encodeTlvs([
    { type: IpPortTlv['IP-Port-Type'], value: protocol },
    { type: IpPortTlv['IP-Port-Limit'], value: uint32(block.last - block.first + 1) },
  ]);
  return [...extendedAttribute(ipPortAttributes['IP-Port-Range'], range), ...extendedAttribute(ipPortAttributes['IP-Port-Limit-Info'], limit)];
}

/**
 * Every IP-Port-Range in an Accounting-Request, and a fault for each that cannot be used:
 * TLVs that do not frame (RFC 6929 §2.3.2: the attribute is invalid), no IP-Port-Alloc of
 * Allocation or Deallocation, no first and last port, or ports out of order or past 65535.
 */
export function readPortRanges(packet: RadiusPacket): ReadPortRanges {
  const ranges: ReportedPortRange[] = [];
  const faults: PortRangeFault[] = [];
  const values = readExtended(packet, ipPortAttributes['IP-Port-Range']);
  if (values === undefined) return { ranges, faults: ['tlv-malformed'] };
  for (const value of values) {
    const tlvs = decodeTlvs(value);
    if (tlvs === undefined) {
      faults.push('tlv-malformed');
      continue;
    }
    const read = readOne(tlvs);
    if (typeof read === 'string') faults.push(read);
    else ranges.push(read);
  }
  return { ranges, faults };
}

function readOne(tlvs: Tlv[]): ReportedPortRange | PortRangeFault {
  const find = (type: number): Buffer | undefined => tlvs.find((t) => t.type === type)?.value;
  const integer = (type: number): number | undefined | null => {
    const v = find(type);
    if (v === undefined) return undefined;
    return v.length === 4 ? v.readUInt32BE(0) : null;
  };
  const address = (type: number): string | undefined | null => {
    const v = find(type);
    if (v === undefined) return undefined;
    return v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : null;
  };
  const alloc = integer(IpPortTlv['IP-Port-Alloc']);
  if (alloc === null) return 'tlv-malformed';
  if (alloc !== IpPortAlloc.Allocation && alloc !== IpPortAlloc.Deallocation) return 'alloc-missing';
  const first = integer(IpPortTlv['IP-Port-Range-Start']);
  const last = integer(IpPortTlv['IP-Port-Range-End']);
  const protocol = integer(IpPortTlv['IP-Port-Type']);
  const externalAddress = address(IpPortTlv['IP-Port-Ext-IPv4-Addr']);
  const internalAddress = address(IpPortTlv['IP-Port-Int-IPv4-Addr']);
  if (first === null || last === null || protocol === null || externalAddress === null || internalAddress === null) return 'tlv-malformed';
  if (first === undefined || last === undefined) return 'range-missing';
  // Port numbers are unsigned16 in IPFIX, right justified in the four octets.
  if (first > last || last > 65535) return 'range-invalid';
  const localId = find(IpPortTlv['IP-Port-Local-Id']);
  return {
    alloc: alloc === IpPortAlloc.Allocation ? 'allocation' : 'deallocation',
    protocol: protocol ?? null,
    externalAddress: externalAddress ?? null,
    first,
    last,
    internalAddress: internalAddress ?? null,
    localId: localId ? localId.toString('utf8') : null,
  };
}
