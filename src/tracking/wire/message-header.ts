/** The export versions Sideband decodes: NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011). */
export type ExportVersion = 5 | 9 | 10;

/** What a data record's times are relative to, kept with a Data Set that waits for its template. */
export interface MessageHeader {
  readonly version: ExportVersion;
  /** Observation Domain ID, Source ID, or v5 engine. */
  readonly domain: number;
  /** Export Time (IPFIX) or UNIX Secs (NetFlow), in ms. */
  readonly exportTime: number;
  /** NetFlow sysUpTime at export, in ms; -1 for IPFIX, whose header has none. */
  readonly sysUptime: number;
}

/**
 * Epoch ms of a sysUpTime value (v5 First/Last, v9 and IPFIX flowStartSysUpTime and
 * flowEndSysUpTime) given the sysUpTime at `exportTime`. The difference is taken modulo
 * 2^32 as a signed number, so it survives the counter wrapping (every 49.7 days) and an
 * exporter that stamps flows before its own start (softflowd reading a capture does).
 */
export function sysUptimeToEpoch(exportTime: number, sysUptime: number, uptime: number): number {
  return exportTime - ((sysUptime - uptime) | 0);
}
