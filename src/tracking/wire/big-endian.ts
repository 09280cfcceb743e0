// Big-endian reads for the per-record loops, without Buffer's argument checks (validating
// the offset cost a third of reading an IPFIX record). The caller has already checked the
// record's length, so every offset is in bounds; header fields keep Buffer's checked reads.

export function u32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

export function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}
