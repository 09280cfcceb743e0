import type { ExportVersion } from './message-header.ts';
import type { SequenceState } from './sequence-number.ts';
import type { Template } from './template.ts';

/**
 * What a decoder remembers about one exporter's Observation Domain (NetFlow v9 Source ID,
 * NetFlow v5 engine): its templates (RFC 7011 §8 scopes them to exporter and domain) and
 * where its sequence numbers stand. Versions are kept apart, so a v9 Source ID and an IPFIX
 * Observation Domain ID with the same number never share templates.
 */
export interface ObservationDomain {
  readonly exporter: string;
  readonly version: ExportVersion;
  readonly id: number;
  /** `domainKey(version, id)`. */
  readonly key: number;
  /** By Template ID, least recently refreshed first. */
  readonly templates: Map<number, Template>;
  readonly sequence: SequenceState;
  /** IPFIX systemInitTimeMilliseconds (IE 160) from an options record, -1 until one arrives. */
  systemInitTime: number;
  lastSeen: number;
}

/** A number naming a version's domain, unique across versions and below 2^36. */
export function domainKey(version: ExportVersion, id: number): number {
  return version * 0x1_0000_0000 + id;
}
