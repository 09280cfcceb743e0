import { MAX_PACKET_LENGTH, MIN_PACKET_LENGTH } from './packet-format.ts';

/** Why a stream can no longer be framed: its Length field is out of bounds. */
export type StreamFramingFault = 'length-below-minimum' | 'length-above-maximum';

export type StreamRead = { readonly packets: Buffer[]; readonly fault: StreamFramingFault | null };

/**
 * Cuts a RADIUS stream (RFC 6613 §2.1 over TCP, RFC 6614 over TLS) into packets by each
 * packet's Length field: there are no other delimiters. A Length outside 20..4096 leaves
 * no way to find the next packet, so it is a fault of the whole stream — RFC 6613 §2.6.4:
 * the connection "MUST be closed" — and nothing more is read. At most one packet and one
 * chunk are held, whatever the peer sends.
 *
 * @example
 * const reader = new RadiusStreamReader();
 * socket.on('data', (chunk) => {
 *   const { packets, fault } = reader.push(chunk);
 *   for (const p of packets) handle(p);
 *   if (fault) socket.destroy();
 * });
 */
export class RadiusStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  private failed: StreamFramingFault | null = null;

  push(chunk: Buffer): StreamRead {
    if (this.failed) return { packets: [], fault: this.failed };
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Buffer[] = [];
    let at = 0;
    while (this.pending.length - at >= 4) {
      const length = this.pending.readUInt16BE(at + 2);
      // RFC 2865 §3: "The minimum length is 20 and maximum length is 4096."
      if (length < MIN_PACKET_LENGTH) this.failed = 'length-below-minimum';
      else if (length > MAX_PACKET_LENGTH) this.failed = 'length-above-maximum';
      if (this.failed) {
        this.pending = Buffer.alloc(0);
        return { packets, fault: this.failed };
      }
      if (this.pending.length - at < length) break;
      // A copy: the packet outlives the chunk it came in, which the next read may reuse.
      packets.push(Buffer.from(this.pending.subarray(at, at + length)));
      at += length;
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(at));
    return { packets, fault: null };
  }

  /** Octets received that do not yet make a whole packet. */
  get buffered(): number {
    return this.pending.length;
  }
}
