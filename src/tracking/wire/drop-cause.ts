/**
 * Why some of a datagram was not turned into flow records, or what the exporter's
 * sequence numbers say was lost before it arrived. Each cause counts one kind of unit,
 * given by `dropCauses`, so a metric labelled by cause never adds datagrams to records.
 */
export type DropCause =
  | 'truncated'
  | 'unknown-version'
  | 'message-length'
  | 'record-count'
  | 'exporter-limit'
  | 'domain-limit'
  | 'set-length'
  | 'set-id-reserved'
  | 'template-invalid'
  | 'template-limit'
  | 'template-evicted'
  | 'template-displaced'
  | 'exporter-displaced'
  | 'held-set-displaced'
  | 'no-template-overflow'
  | 'no-template-expired'
  | 'record-invalid'
  | 'no-address'
  | 'sequence-gap-records'
  | 'sequence-gap-packets'
  | 'decoder-fault';

export type DropUnit = 'datagram' | 'set' | 'template' | 'record' | 'exporter';

export type DropCounts = Partial<Record<DropCause, number>>;

/** Each cause: what one count of it stands for, and what it means (for metric help text). */
export const dropCauses: Readonly<Record<DropCause, { unit: DropUnit; meaning: string }>> = {
  'truncated': { unit: 'datagram', meaning: 'shorter than its header, or than the length the header gives' },
  'unknown-version': { unit: 'datagram', meaning: 'version is not 5, 9 or 10' },
  'message-length': { unit: 'datagram', meaning: 'longer than the IPFIX Length or the NetFlow v5 count says' },
  'record-count': { unit: 'datagram', meaning: 'NetFlow v5 count is 0 or above 30' },
  'exporter-limit': { unit: 'datagram', meaning: 'from a new exporter while maxExporters are known and none ranks below it' },
  'domain-limit': { unit: 'datagram', meaning: 'for a new observation domain while the exporter has maxDomainsPerExporter' },
  'set-length': { unit: 'set', meaning: 'Set Length below 4 or past the end of the message; the rest of the message is dropped' },
  'set-id-reserved': { unit: 'set', meaning: 'Set ID reserved by RFC 7011 §3.3.2 or FlowSet ID by RFC 3954 §5.3; skipped' },
  'template-invalid': { unit: 'template', meaning: 'malformed, or a field length that is zero, absurd or wrong for its element' },
  'template-limit': { unit: 'template', meaning: 'refused because maxTemplates are held across all exporters and none ranks below its exporter' },
  'template-evicted': { unit: 'template', meaning: "an exporter's least recently refreshed template, dropped to make room for its new one" },
  'template-displaced': { unit: 'template', meaning: 'the least recently refreshed template of the lowest-ranked exporter (the newest only inside a registered range), dropped for a higher-ranked exporter\'s new one while maxTemplates are held' },
  'exporter-displaced': { unit: 'exporter', meaning: 'the lowest-ranked exporter, forgotten with its templates and held sets to make room for a new exporter registered by name while maxExporters are known' },
  'held-set-displaced': { unit: 'set', meaning: "a held Data Set of a lower-ranked exporter, dropped to make room for a higher-ranked exporter's while maxHeldBytes are held" },
  'no-template-overflow': { unit: 'set', meaning: 'Data Set without its template while the exporter already holds maxHeldSetsPerExporter or maxHeldBytesPerExporter, or the hold is full and no exporter ranks below it' },
  'no-template-expired': { unit: 'set', meaning: 'Data Set held for holdTime without its template arriving' },
  'record-invalid': { unit: 'set', meaning: 'a variable-length field overruns its Set; the rest of the Set is dropped' },
  'no-address': { unit: 'record', meaning: 'data record without both a source and a destination address' },
  'sequence-gap-records': { unit: 'record', meaning: 'records the exporter sent that never arrived (IPFIX, NetFlow v5 sequence numbers), counted once the message after the gap is followed on' },
  'sequence-gap-packets': { unit: 'datagram', meaning: 'export packets that never arrived (NetFlow v9 sequence numbers), counted once the packet after the gap is followed on' },
  'decoder-fault': { unit: 'datagram', meaning: 'the decoder failed on input it should have refused; a bug to report' },
};
