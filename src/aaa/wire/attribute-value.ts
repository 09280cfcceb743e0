import ipaddr from 'ipaddr.js';
import type { DataType } from './attribute-dictionary.ts';
import { MAX_ATTRIBUTE_VALUE_LENGTH } from './packet-format.ts';
import { writeVendorSpecific, type VendorSpecific } from './vendor-specific.ts';

/** The JavaScript value an encoder accepts for each data type. */
export interface DataTypeValue {
  text: string;
  /** Octets; a JavaScript string is taken as its UTF-8 encoding. */
  string: Buffer | string;
  /** Dotted-quad IPv4 address. */
  address: string;
  integer: number;
  /** A Date, or seconds since 1970-01-01 00:00:00 UTC. */
  time: Date | number;
  ipv6addr: string;
  /** `prefix/length`, such as `2001:db8:1::/48`. */
  ipv6prefix: string;
  ifid: Buffer;
  vsa: VendorSpecific;
}

// Readers take the value's bounds inside the packet, so that getters slice nothing. Each
// returns undefined for a value of the wrong size: RFC 6929 §2.8 has such an "invalid
// attribute" treated as unknown, not the whole packet dropped.

export function readText(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

// RFC 2865 §5: "integer 32 bit unsigned value, most significant octet first."
export function readInteger(buf: Buffer, start: number, end: number): number | undefined {
  return end - start === 4 ? buf.readUInt32BE(start) : undefined;
}

// RFC 2865 §5: "time 32 bit unsigned value, most significant octet first -- seconds since 00:00:00 UTC, January 1, 1970."
export function readTime(buf: Buffer, start: number, end: number): Date | undefined {
  return end - start === 4 ? new Date(buf.readUInt32BE(start) * 1000) : undefined;
}

// RFC 2865 §5: "address 32 bit value, most significant octet first."
export function readAddress(buf: Buffer, start: number, end: number): string | undefined {
  if (end - start !== 4) return undefined;
  return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
}

// RFC 3162 §2.1: a 16-octet address; printed in the RFC 5952 form.
export function readIpv6Address(buf: Buffer, start: number, end: number): string | undefined {
  if (end - start !== 16) return undefined;
  return ipaddr.fromByteArray([...buf.subarray(start, end)]).toString();
}

// RFC 3162 §2.3: Reserved(1) Prefix-Length(1) Prefix(0-16), the prefix holding at least Prefix-Length bits.
export function readIpv6Prefix(buf: Buffer, start: number, end: number): string | undefined {
  const prefixOctets = end - start - 2;
  if (prefixOctets < 0 || prefixOctets > 16) return undefined;
  const prefixLength = buf[start + 1]!;
  if (prefixLength > 128 || prefixOctets * 8 < prefixLength) return undefined;
  const bytes = new Array<number>(16).fill(0);
  for (let i = 0; i < prefixOctets; i++) bytes[i] = buf[start + 2 + i]!;
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefixLength}`;
}

/**
 * Writes `value` as data type `dataType` at `offset` in `target` and returns the octets
 * written. Throws RangeError or TypeError for a value the type cannot carry: these are
 * programming errors in what the caller built, never a peer's doing.
 */
export function writeValue(dataType: DataType, value: unknown, target: Buffer, offset: number): number {
  switch (dataType) {
    case 'text':
      if (typeof value !== 'string') throw new TypeError('a text attribute takes a string');
      return writeUtf8(value, target, offset);
    case 'string':
      if (typeof value === 'string') return writeUtf8(value, target, offset);
      if (!Buffer.isBuffer(value)) throw new TypeError('a string attribute takes a Buffer or a string');
      return writeOctets(value, target, offset);
    case 'integer':
      return writeUint32(value, target, offset);
    case 'time': {
      const seconds = value instanceof Date ? Math.floor(value.getTime() / 1000) : value;
      return writeUint32(seconds, target, offset);
    }
    case 'address':
      return writeDottedQuad(value, target, offset);
    case 'ipv6addr': {
      if (typeof value !== 'string' || !ipaddr.IPv6.isValid(value)) throw new TypeError(`${String(value)} is not an IPv6 address`);
      return writeFixed(ipaddr.IPv6.parse(value).toByteArray(), target, offset);
    }
    case 'ipv6prefix':
      return writeIpv6Prefix(value, target, offset);
    case 'ifid':
      // RFC 3162 §2.2: "The Interface-Id field is 8 octets."
      if (!Buffer.isBuffer(value) || value.length !== 8) throw new TypeError('an ifid attribute takes an 8-octet Buffer');
      return writeOctets(value, target, offset);
    case 'vsa':
      return writeVendorSpecific(value as VendorSpecific, target, offset);
  }
}

function writeOctets(octets: Buffer, target: Buffer, offset: number): number {
  checkLength(octets.length, target, offset);
  octets.copy(target, offset);
  return octets.length;
}

function writeUtf8(text: string, target: Buffer, offset: number): number {
  const length = Buffer.byteLength(text, 'utf8');
  checkLength(length, target, offset);
  return target.write(text, offset, length, 'utf8');
}

function checkLength(length: number, target: Buffer, offset: number): void {
  // RFC 8044 §3.4/§3.5: zero-length text and string "MUST NOT be sent"; omit the attribute.
  if (length === 0) throw new RangeError('an attribute value must not be empty (RFC 8044 §3.4, §3.5)');
  // RFC 2865 §5: the one-octet Length counts the header, leaving 253 octets of value.
  if (length > MAX_ATTRIBUTE_VALUE_LENGTH) throw new RangeError(`an attribute value of ${length} octets exceeds ${MAX_ATTRIBUTE_VALUE_LENGTH} (RFC 2865 §5)`);
  if (offset + length > target.length) throw new RangeError('the packet would exceed 4096 octets (RFC 2865 §3)');
}

function writeFixed(bytes: number[], target: Buffer, offset: number): number {
  if (offset + bytes.length > target.length) throw new RangeError('the packet would exceed 4096 octets (RFC 2865 §3)');
  for (let i = 0; i < bytes.length; i++) target[offset + i] = bytes[i]!;
  return bytes.length;
}

/** Reply paths write Framed-IP-Address on every Access-Accept, so this avoids ipaddr.js's regular expressions. */
function writeDottedQuad(value: unknown, target: Buffer, offset: number): number {
  if (typeof value !== 'string' || !parseDottedQuad(value, target, offset)) throw new TypeError(`${String(value)} is not a dotted-quad IPv4 address`);
  return 4;
}

function parseDottedQuad(text: string, target: Buffer, offset: number): boolean {
  if (text.length < 7 || text.length > 15 || offset + 4 > target.length) return false;
  let octet = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || index > 3) return false;
      target[offset + index++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // A leading zero would read as octal to inet_aton; refuse rather than guess.
      if (digits > 0 && octet === 0) return false;
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return false;
    } else {
      return false;
    }
  }
  return index === 4;
}

function writeUint32(value: unknown, target: Buffer, offset: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${String(value)} is not a 32-bit unsigned integer (RFC 2865 §5)`);
  }
  if (offset + 4 > target.length) throw new RangeError('the packet would exceed 4096 octets (RFC 2865 §3)');
  target.writeUInt32BE(value, offset);
  return 4;
}

function writeIpv6Prefix(value: unknown, target: Buffer, offset: number): number {
  if (typeof value !== 'string' || !ipaddr.IPv6.isValidCIDR(value)) throw new TypeError(`${String(value)} is not an IPv6 prefix such as 2001:db8::/32`);
  const [address, prefixLength] = ipaddr.IPv6.parseCIDR(value);
  // RFC 3162 §2.3 lets the Prefix field stop at the last octet the Prefix-Length covers.
  const prefixOctets = Math.ceil(prefixLength / 8);
  const bytes = [0, prefixLength, ...address.toByteArray().slice(0, prefixOctets)];
  return writeFixed(bytes, target, offset);
}
