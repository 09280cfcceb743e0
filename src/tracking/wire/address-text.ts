/** Dotted-quad text of the IPv4 address at `offset`. */
export function ipv4Text(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const groups = new Uint16Array(8);

/**
 * RFC 5952 §4 text of the IPv6 address at `offset`: lower-case hex without leading zeros,
 * the longest run of two or more zero groups (the first, on a tie) shortened to `::`.
 * An IPv4-mapped address (RFC 4291 §2.5.5.2) becomes the IPv4 address it carries, as
 * everywhere else in Sideband.
 */
export function ipv6Text(bytes: Buffer, offset: number): string {
  let runStart = -1;
  let runLength = 0;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; i++) {
    const group = bytes.readUInt16BE(offset + 2 * i);
    groups[i] = group;
    if (group === 0) {
      if (runStart < 0) runStart = i;
      runLength = i - runStart + 1;
      if (runLength > bestLength) {
        bestStart = runStart;
        bestLength = runLength;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) return ipv4Text(bytes, offset + 12);
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += (groups[i] as number).toString(16);
  }
  return text;
}
