/**
 * Loss detection from the header's sequence number, kept per exporter and domain. What
 * the number counts differs by version:
 * - IPFIX (RFC 7011 §3.1): "Incremental sequence counter modulo 2^32 of all IPFIX Data
 *   Records sent in the current stream from the current Observation Domain";
 * - NetFlow v9 (RFC 3954 §5.1): "Incremental sequence counter of all Export Packets sent
 *   from the current Observation Domain by the Exporter";
 * - NetFlow v5: flow_sequence, the count of flows exported before this packet.
 */
export interface SequenceState {
  /** The sequence number the next message should carry, or -1 when not known. */
  expected: number;
}

// A message less than this far behind the expected number is late (reordered or
// duplicated); further behind, or a million or more ahead, the exporter has restarted
// (or the datagram is not what it claims) and counting begins again, rather than
// reporting a loss no exporter could have had.
const LATE_WINDOW = 0x1_0000;
const RESTART_JUMP = 0x10_0000;

/**
 * Records that a message with `sequence` carried `units` (records or packets), and
 * returns how many units went missing before it. `units` is undefined when the message
 * held records that could not be counted (a Data Set without its template), so the next
 * message sets the count afresh instead of reporting a loss that did not happen.
 * A late message counts nothing and leaves the expectation as it was, so reordering is
 * counted as loss once, when the later message arrived first.
 */
export function trackSequence(state: SequenceState, sequence: number, units: number | undefined): number {
  let missed = 0;
  if (state.expected >= 0) {
    const ahead = (sequence - state.expected) | 0;
    if (ahead < 0 && ahead > -LATE_WINDOW) return 0;
    if (ahead > 0 && ahead < RESTART_JUMP) missed = ahead;
  }
  state.expected = units === undefined ? -1 : (sequence + units) >>> 0;
  return missed;
}
