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
  /** A second message has followed the one that set `expected`: the stream is the exporter's. */
  confirmed: boolean;
  /** A message that did not follow on, waiting for the next one to say whether the stream moved there. */
  jump: { readonly sequence: number; readonly next: number } | null;
}

export function newSequenceState(): SequenceState {
  return { expected: -1, confirmed: false, jump: null };
}

// A jump of a million or more is an exporter that restarted (or a datagram that is not
// what it claims), not a loss any exporter could have had: counting begins again.
const RESTART_JUMP = 0x10_0000;

/** How far `sequence` is past `from`, modulo 2^32, as a signed number. */
const ahead = (sequence: number, from: number): number => (sequence - from) | 0;

/**
 * Records that a message with `sequence` carried `units` (records or packets), and
 * returns how many units went missing before it. `units` is undefined when the message
 * held records that could not be counted (a Data Set without its template), so the next
 * message sets the count afresh instead of reporting a loss that did not happen.
 *
 * Over UDP anyone can send a datagram claiming the exporter's address, so a message that
 * does not follow on (ahead, behind, or a restart) is only a candidate `jump`: the stream
 * moves there, and a gap is counted, when the next message follows the jump; the jump is
 * forgotten when the stream it left goes on past it instead. One forged datagram therefore
 * never counts a loss nor moves the count, a message overtaken by a later one counts no
 * loss when it fills the gap, and an exporter that restarts is followed after two
 * messages. A gap left by a stream of one message, or a restart, counts nothing.
 */
export function trackSequence(state: SequenceState, sequence: number, units: number | undefined): number {
  const next = units === undefined ? -1 : (sequence + units) >>> 0;
  if (state.expected < 0) return startAgain(state, next);
  if (ahead(sequence, state.expected) === 0) {
    state.expected = next;
    state.confirmed = next >= 0;
    const jump = state.jump;
    if (jump === null) return 0;
    // The stream reached the jump: it was a message overtaken on the way. Passed it: not the exporter's.
    const toJump = next < 0 ? -1 : ahead(jump.sequence, next);
    if (toJump === 0) state.expected = jump.next;
    if (toJump <= 0) state.jump = null;
    return 0;
  }
  const jump = state.jump;
  // A jump whose records could not be counted cannot be followed: take this message as the start.
  if (jump !== null && jump.next < 0) return startAgain(state, next);
  if (jump !== null) {
    const past = ahead(sequence, jump.next);
    if (past >= 0 && past < RESTART_JUMP) {
      const gap = ahead(jump.sequence, state.expected);
      const missed = state.confirmed && gap > 0 && gap < RESTART_JUMP ? gap : 0;
      Object.assign(state, { expected: jump.next, confirmed: true, jump: null });
      // This message follows the jump, perhaps with a gap of its own, counted in its turn.
      return missed + trackSequence(state, sequence, units);
    }
  }
  state.jump = { sequence, next };
  return 0;
}

/** Takes this message as the stream's start: no loss counted. A function, not a closure made per message. */
function startAgain(state: SequenceState, next: number): number {
  state.expected = next;
  state.confirmed = false;
  state.jump = null;
  return 0;
}
