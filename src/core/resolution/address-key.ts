import { Buffer } from 'node:buffer';

/**
 * The form in which the binding index keys an address. An IPv4 address is its unsigned
 * 32-bit value. An IPv6 address is a string of eight UTF-16 code units, one per 16-bit
 * group: it is made in one step and hashes over eight units, where keying by RFC 5952 text
 * measured four times slower per lookup. It is a key, not text: {@link formatAddressKey}
 * writes it out. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) has
 * the key of the IPv4 address it carries, so both spellings of one host find the same
 * bindings.
 *
 * @example
 * parseAddressKey('198.51.100.7') === parseAddressKey('::ffff:198.51.100.7'); // true
 * normaliseAddress('2001:0DB8:0:0:0:0:0:1');                                  // '2001:db8::1'
 * parseAddressKey('2001:db8::1%eth0');                                        // undefined
 */
export type AddressKey = number | string;

const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;

/** Parses an address; `undefined` when the text is not an IPv4 or IPv6 address. */
export function parseAddressKey(text: string): AddressKey | undefined {
  const v4 = parseIpv4(text, 0, text.length);
  if (v4 >= 0) return v4;
  return parseIpv6(text);
}

/** The canonical text of a key: dotted quad, or RFC 5952 text. */
export function formatAddressKey(key: AddressKey): string {
  if (typeof key === 'string') return formatIpv6(key);
  return `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
}

/**
 * The key of the `length`-bit prefix an IPv6 key lies in: its first `length` bits, the
 * rest zero. A binding of a prefix is keyed by its network, so a lookup masks the address
 * once per prefix length held (longest-prefix match by one hash probe per length).
 *
 * @example
 * formatAddressKey(maskIpv6Key(parseAddressKey('2001:db8:0:1ab::9') as string, 56)); // '2001:db8:0:100::'
 */
export function maskIpv6Key(key: string, length: number): string {
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) {
    const bits = Math.max(0, Math.min(16, length - 16 * g));
    groups.push(bits === 0 ? 0 : key.charCodeAt(g) & (0xffff << (16 - bits)) & 0xffff);
  }
  return String.fromCharCode(...groups);
}

/** The canonical text of an address, `undefined` when it is not one. */
export function normaliseAddress(text: string): string | undefined {
  const key = parseAddressKey(text);
  return key === undefined ? undefined : formatAddressKey(key);
}

/**
 * Strict dotted decimal (RFC 6943 §3.1.1): four decimal octets, no leading zeros, so that
 * `010.0.0.1` is refused rather than read as octal the way inet_aton() would. Returns -1
 * when `text[from, to)` is not one.
 */
function parseIpv4(text: string, from: number, to: number): number {
  if (to - from < 7 || to - from > 15) return -1;
  let value = 0;
  let octets = 0;
  let octet = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || octets === 3) return -1;
      value = value * 256 + octet;
      octets++;
      octet = 0;
      digits = 0;
      continue;
    }
    const d = c - ZERO;
    if (d < 0 || d > 9) return -1;
    if (digits === 1 && octet === 0) return -1;
    octet = octet * 10 + d;
    if (octet > 255) return -1;
    digits++;
  }
  if (digits === 0 || octets !== 3) return -1;
  return value * 256 + octet;
}

const hextets = new Uint16Array(8);

/**
 * RFC 4291 §2.2: eight groups of one to four hex digits, one `::` standing for one or more
 * zero groups, and optionally dotted decimal in the last 32 bits. A zone index (RFC 4007
 * §11) is refused: a link-local scope names no subscriber.
 */
function parseIpv6(text: string): AddressKey | undefined {
  const n = text.length;
  // The longest form is eight four-digit groups written with an IPv4 tail (45 characters).
  if (n < 2 || n > 45) return undefined;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (count === 8) return undefined;
    let value = 0;
    let j = i;
    for (; j < n && j - i <= 4; j++) {
      const d = hexDigit(text.charCodeAt(j));
      if (d < 0) break;
      value = value * 16 + d;
    }
    if (j < n && text.charCodeAt(j) === DOT) {
      if (count > 6) return undefined;
      const v4 = parseIpv4(text, i, n);
      if (v4 < 0) return undefined;
      hextets[count++] = v4 >>> 16;
      hextets[count++] = v4 & 0xffff;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    hextets[count++] = value;
    if (j === n) break;
    if (text.charCodeAt(j) !== COLON || j + 1 === n) return undefined;
    i = j + 1;
    if (text.charCodeAt(i) === COLON) {
      if (gap >= 0) return undefined;
      gap = count;
      i++;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  if (gap >= 0) {
    const tail = count - gap;
    for (let k = 1; k <= tail; k++) hextets[8 - k] = hextets[count - k]!;
    for (let k = gap; k < 8 - tail; k++) hextets[k] = 0;
  }
  if (hextets[0] === 0 && hextets[1] === 0 && hextets[2] === 0 && hextets[3] === 0 && hextets[4] === 0 && hextets[5] === 0xffff) {
    return hextets[6]! * 65536 + hextets[7]!;
  }
  return String.fromCharCode(hextets[0]!, hextets[1]!, hextets[2]!, hextets[3]!, hextets[4]!, hextets[5]!, hextets[6]!, hextets[7]!);
}

// A hex digit's value by character code below 128, -1 for any other character.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(d)] = d;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(d)] = d;
}

function hexDigit(c: number): number {
  return c < 128 ? HEX_VALUE[c]! : -1;
}

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
// Latin-1 bytes made a string in one call: String.fromCharCode.apply over a subarray cost half again as much.
const written = Buffer.alloc(39);

/** RFC 5952 §4: lower case, no leading zeros, the longest run of two or more zero groups (the first on a tie) as `::`. */
function formatIpv6(key: string): string {
  let bestAt = -1;
  let bestLength = 1;
  for (let k = 0; k < 8; ) {
    if (key.charCodeAt(k) !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && key.charCodeAt(end) === 0) end++;
    if (end - k > bestLength) {
      bestAt = k;
      bestLength = end - k;
    }
    k = end;
  }
  // Written as bytes and made a string once, not grown by `+=` into a rope.
  let n = 0;
  for (let k = 0; k < 8; k++) {
    if (k === bestAt) {
      if (k === 0) written[n++] = COLON;
      written[n++] = COLON;
      k += bestLength - 1;
      continue;
    }
    const g = key.charCodeAt(k);
    if (g > 0xfff) written[n++] = HEX[g >>> 12]!;
    if (g > 0xff) written[n++] = HEX[(g >>> 8) & 15]!;
    if (g > 0xf) written[n++] = HEX[(g >>> 4) & 15]!;
    written[n++] = HEX[g & 15]!;
    if (k < 7) written[n++] = COLON;
  }
  return written.toString('latin1', 0, n);
}
