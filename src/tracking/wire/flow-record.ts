/**
 * One flow as the decoders hand it on, whatever the export version: who talked to whom,
 * how much, and when. Addresses are dotted quads or RFC 5952 text; an IPv4-mapped IPv6
 * address (RFC 4291 §2.5.5.2) is given as the IPv4 address it carries.
 *
 * @example
 * { exporter: '198.51.100.1', domain: 0, sourceAddress: '192.0.2.10', destinationAddress: '203.0.113.5',
 *   sourcePort: 40001, destinationPort: 443, protocol: 6, packets: 5, octets: 400,
 *   start: 1732363200000, end: 1732363200070 }
 */
export interface FlowRecord {
  /** The exporter's address, as given to `FlowDecoder.decode`. */
  readonly exporter: string;
  /** IPFIX Observation Domain ID, NetFlow v9 Source ID, or NetFlow v5 `engine_type << 8 | engine_id`. */
  readonly domain: number;
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  /** 0 when the template carries no port (ICMP, for instance). */
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly protocol: number;
  /** As the exporter counted them; sampled exports are not scaled up. */
  readonly packets: number;
  readonly octets: number;
  /** Epoch ms of the first packet; the export time when the record carries no time. */
  readonly start: number;
  /** Epoch ms of the last packet. */
  readonly end: number;
  /** After NAT, when the exporter reports it (IPFIX IEs 225/226/281/282, 227/228). */
  readonly postNATSourceAddress?: string;
  readonly postNATDestinationAddress?: string;
  readonly postNAPTSourcePort?: number;
  readonly postNAPTDestinationPort?: number;
}
