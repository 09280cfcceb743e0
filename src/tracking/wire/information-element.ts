/**
 * The Information Elements Sideband reads out of data records, by their names in IANA's
 * "IPFIX Information Elements" registry (RFC 7012). NetFlow v9 field types (RFC 3954 §8)
 * are the same numbers, so both versions share this table.
 * Any other element is skipped by its length.
 */
export interface InformationElement {
  readonly name: string;
  /** Where the data-set reader stores the value. */
  readonly slot: number;
  readonly encoding: number;
  /** RFC 7011 §6.2: unsigned integers may use reduced-size encoding, so 1 up to their full size. */
  readonly minLength: number;
  readonly maxLength: number;
}

/** Positions in the reader's per-record scratch array. */
export const Slot = {
  SOURCE_V4: 0,
  DESTINATION_V4: 1,
  SOURCE_V6: 2,
  DESTINATION_V6: 3,
  SOURCE_PORT: 4,
  DESTINATION_PORT: 5,
  PROTOCOL: 6,
  PACKETS: 7,
  OCTETS: 8,
  PACKETS_TOTAL: 9,
  OCTETS_TOTAL: 10,
  START: 11,
  END: 12,
  START_UPTIME: 13,
  END_UPTIME: 14,
  START_DELTA: 15,
  END_DELTA: 16,
  NAT_SOURCE_V4: 17,
  NAT_DESTINATION_V4: 18,
  NAT_SOURCE_V6: 19,
  NAT_DESTINATION_V6: 20,
  NAT_SOURCE_PORT: 21,
  NAT_DESTINATION_PORT: 22,
  SYSTEM_INIT: 23,
  NONE: 255,
} as const;

export const SLOT_COUNT = 24;

/** How a value turns into the number stored in its slot. */
export const Encoding = {
  /** The slot holds the value's offset in the datagram; the text is made only if the record is kept. */
  ADDRESS: 0,
  UNSIGNED: 1,
  /** RFC 7011 §6.1 dateTimeSeconds, stored as ms. */
  SECONDS: 2,
  /** RFC 7011 §6.1 dateTimeMilliseconds. */
  MILLISECONDS: 3,
  /** RFC 7011 §6.1 dateTimeMicroseconds/Nanoseconds: NTP timestamp format, stored as ms. */
  NTP: 4,
} as const;

const { ADDRESS, UNSIGNED, SECONDS, MILLISECONDS, NTP } = Encoding;

const table: [id: number, name: string, slot: number, encoding: number, minLength: number, maxLength: number][] = [
  [1, 'octetDeltaCount', Slot.OCTETS, UNSIGNED, 1, 8],
  [2, 'packetDeltaCount', Slot.PACKETS, UNSIGNED, 1, 8],
  [4, 'protocolIdentifier', Slot.PROTOCOL, UNSIGNED, 1, 1],
  [7, 'sourceTransportPort', Slot.SOURCE_PORT, UNSIGNED, 1, 2],
  [8, 'sourceIPv4Address', Slot.SOURCE_V4, ADDRESS, 4, 4],
  [11, 'destinationTransportPort', Slot.DESTINATION_PORT, UNSIGNED, 1, 2],
  [12, 'destinationIPv4Address', Slot.DESTINATION_V4, ADDRESS, 4, 4],
  [21, 'flowEndSysUpTime', Slot.END_UPTIME, UNSIGNED, 1, 4],
  [22, 'flowStartSysUpTime', Slot.START_UPTIME, UNSIGNED, 1, 4],
  [27, 'sourceIPv6Address', Slot.SOURCE_V6, ADDRESS, 16, 16],
  [28, 'destinationIPv6Address', Slot.DESTINATION_V6, ADDRESS, 16, 16],
  [85, 'octetTotalCount', Slot.OCTETS_TOTAL, UNSIGNED, 1, 8],
  [86, 'packetTotalCount', Slot.PACKETS_TOTAL, UNSIGNED, 1, 8],
  [150, 'flowStartSeconds', Slot.START, SECONDS, 4, 4],
  [151, 'flowEndSeconds', Slot.END, SECONDS, 4, 4],
  [152, 'flowStartMilliseconds', Slot.START, MILLISECONDS, 8, 8],
  [153, 'flowEndMilliseconds', Slot.END, MILLISECONDS, 8, 8],
  [154, 'flowStartMicroseconds', Slot.START, NTP, 8, 8],
  [155, 'flowEndMicroseconds', Slot.END, NTP, 8, 8],
  [156, 'flowStartNanoseconds', Slot.START, NTP, 8, 8],
  [157, 'flowEndNanoseconds', Slot.END, NTP, 8, 8],
  [158, 'flowStartDeltaMicroseconds', Slot.START_DELTA, UNSIGNED, 1, 4],
  [159, 'flowEndDeltaMicroseconds', Slot.END_DELTA, UNSIGNED, 1, 4],
  [160, 'systemInitTimeMilliseconds', Slot.SYSTEM_INIT, MILLISECONDS, 8, 8],
  [225, 'postNATSourceIPv4Address', Slot.NAT_SOURCE_V4, ADDRESS, 4, 4],
  [226, 'postNATDestinationIPv4Address', Slot.NAT_DESTINATION_V4, ADDRESS, 4, 4],
  [227, 'postNAPTSourceTransportPort', Slot.NAT_SOURCE_PORT, UNSIGNED, 1, 2],
  [228, 'postNAPTDestinationTransportPort', Slot.NAT_DESTINATION_PORT, UNSIGNED, 1, 2],
  [281, 'postNATSourceIPv6Address', Slot.NAT_SOURCE_V6, ADDRESS, 16, 16],
  [282, 'postNATDestinationIPv6Address', Slot.NAT_DESTINATION_V6, ADDRESS, 16, 16],
];

/** The elements Sideband reads, by Information Element identifier. */
export const informationElements: ReadonlyMap<number, InformationElement> = new Map(
  table.map(([id, name, slot, encoding, minLength, maxLength]) => [id, { name, slot, encoding, minLength, maxLength }]),
);
