import { dropCauses, type DropCause } from './drop-cause.ts';
import { packetCodeName } from './packet-code.ts';
import { ATTRIBUTE_HEADER_LENGTH, HEADER_LENGTH, MAX_PACKET_LENGTH, MIN_PACKET_LENGTH } from './packet-format.ts';
import { RadiusPacket } from './radius-packet.ts';

export type DecodeResult = { readonly ok: true; readonly packet: RadiusPacket } | { readonly ok: false; readonly cause: DropCause };

/**
 * Checks a datagram's framing and returns the packet, or why it must be silently discarded.
 * Never throws. Only the structure is checked here; authenticators need the client's
 * secret and are checked in `protocol/`.
 *
 * The packet's `raw` is a view into `datagram`, not a copy: do not reuse the buffer while
 * the packet is in use (Node's dgram hands each message its own Buffer).
 *
 * @example
 * socket.on('message', (datagram) => {
 *   const result = decodePacket(datagram);
 *   if (!result.ok) return drops.inc({ cause: result.cause });
 * });
 */
export function decodePacket(datagram: Buffer): DecodeResult {
  if (datagram.length < HEADER_LENGTH) return drop('datagram-too-short');

  const code = packetCodeName(datagram[0]!);
  // RFC 2865 §3: "Packets with an invalid Code field MUST be silently discarded."
  if (code === undefined) return drop('unknown-code');

  const length = datagram.readUInt16BE(2);
  // RFC 2865 §3: "The minimum length is 20 and maximum length is 4096."
  if (length < MIN_PACKET_LENGTH) return drop('length-below-minimum');
  if (length > MAX_PACKET_LENGTH) return drop('length-above-maximum');
  // RFC 2865 §3: "If the packet is shorter than the Length field indicates, it MUST be
  // silently discarded." Longer is fine: "Octets outside the range of the Length field
  // MUST be treated as padding and ignored on reception."
  if (length > datagram.length) return drop('length-exceeds-datagram');

  // RFC 2865 §5: each attribute's Length counts its own two header octets, and the
  // attributes must fill the packet exactly, or nothing after the fault can be framed.
  let at = HEADER_LENGTH;
  while (at < length) {
    if (length - at < ATTRIBUTE_HEADER_LENGTH) return drop('attribute-overflow');
    const attributeLength = datagram[at + 1]!;
    if (attributeLength < ATTRIBUTE_HEADER_LENGTH) return drop('attribute-length-invalid');
    if (attributeLength > length - at) return drop('attribute-overflow');
    at += attributeLength;
  }

  const raw = length === datagram.length ? datagram : datagram.subarray(0, length);
  return { ok: true, packet: new RadiusPacket(raw, code) };
}

// One frozen result per cause, so that a flood of junk datagrams allocates nothing.
const dropResults = Object.fromEntries(dropCauses.map((cause) => [cause, Object.freeze({ ok: false, cause })])) as Record<DropCause, DecodeResult>;

function drop(cause: DropCause): DecodeResult {
  return dropResults[cause];
}
