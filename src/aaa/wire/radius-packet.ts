import { attributeDictionary, type AttributeName, type AttributeNameOf } from './attribute-dictionary.ts';
import { readAddress, readInteger, readIpv6Address, readIpv6Prefix, readText, readTime } from './attribute-value.ts';
import type { PacketCodeName } from './packet-code.ts';
import { ATTRIBUTE_HEADER_LENGTH, AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from './packet-format.ts';
import { decodeVendorSpecific, type VendorSpecific } from './vendor-specific.ts';

/** An attribute as it came off the wire; Vendor-Specific values in the recommended format also come decoded. */
export interface RadiusAttribute {
  readonly type: number;
  readonly value: Buffer;
  readonly vendorSpecific?: VendorSpecific;
}

const VENDOR_SPECIFIC = attributeDictionary['Vendor-Specific'].type;

/**
 * A well-formed RADIUS packet, as `decodePacket` returns it. It holds the packet's octets
 * (the authenticator checks need them) and reads attributes from them on demand: decoding
 * allocates nothing per attribute, and getters walk the attribute list afresh, which for
 * the dozen or two attributes a NAS sends costs less than building an index.
 *
 * Getters return the first occurrence, or `undefined` when the attribute is absent or its
 * value has the wrong size for its type (RFC 6929 §2.8 treats such an attribute as unknown).
 *
 * @example
 * const result = decodePacket(datagram);
 * if (result.ok && result.packet.code === 'Accounting-Request') {
 *   const status = result.packet.integer('Acct-Status-Type'); // AcctStatusType.Start, …
 * }
 */
export class RadiusPacket {
  /** Exactly Length octets: padding after them is not kept (RFC 2865 §3). */
  readonly raw: Buffer;
  readonly code: PacketCodeName;
  readonly identifier: number;
  readonly authenticator: Buffer;
  #attributes: readonly RadiusAttribute[] | undefined;

  /** Trusts `raw` to be checked already; build packets with `decodePacket`. */
  constructor(raw: Buffer, code: PacketCodeName) {
    this.raw = raw;
    this.code = code;
    this.identifier = raw[1]!;
    this.authenticator = raw.subarray(AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH);
  }

  /** Every attribute in order, built on first use. */
  get attributes(): readonly RadiusAttribute[] {
    if (this.#attributes === undefined) {
      const list: RadiusAttribute[] = [];
      for (let at = HEADER_LENGTH; at < this.raw.length; at += this.raw[at + 1]!) {
        const type = this.raw[at]!;
        const value = this.raw.subarray(at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
        const vendorSpecific = type === VENDOR_SPECIFIC ? decodeVendorSpecific(value) : undefined;
        list.push(vendorSpecific === undefined ? { type, value } : { type, value, vendorSpecific });
      }
      this.#attributes = list;
    }
    return this.#attributes;
  }

  /** Offset of the header of the first attribute of `type` at or after `from`, or -1. */
  offsetOf(type: number, from: number = HEADER_LENGTH): number {
    const raw = this.raw;
    for (let at = from; at < raw.length; at += raw[at + 1]!) {
      if (raw[at] === type) return at;
    }
    return -1;
  }

  count(attribute: AttributeName | number): number {
    const type = typeOf(attribute);
    let n = 0;
    for (let at = this.offsetOf(type); at !== -1; at = this.offsetOf(type, at + this.raw[at + 1]!)) n++;
    return n;
  }

  has(attribute: AttributeName | number): boolean {
    return this.offsetOf(typeOf(attribute)) !== -1;
  }

  /** The first value's octets, a view into `raw`. */
  octets(attribute: AttributeName | number): Buffer | undefined {
    const at = this.offsetOf(typeOf(attribute));
    return at === -1 ? undefined : this.raw.subarray(at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  /** Every value's octets in order, for attributes that may repeat (Class, Proxy-State, Reply-Message). */
  allOctets(attribute: AttributeName | number): Buffer[] {
    const type = typeOf(attribute);
    const values: Buffer[] = [];
    for (let at = this.offsetOf(type); at !== -1; at = this.offsetOf(type, at + this.raw[at + 1]!)) {
      values.push(this.raw.subarray(at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!));
    }
    return values;
  }

  text(name: AttributeNameOf<'text'>): string | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readText(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  integer(name: AttributeNameOf<'integer'>): number | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readInteger(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  time(name: AttributeNameOf<'time'>): Date | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readTime(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  /** Dotted-quad text of an `address` attribute. */
  ipv4(name: AttributeNameOf<'address'>): string | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readAddress(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  /** RFC 5952 text of an `ipv6addr` attribute. */
  ipv6(name: AttributeNameOf<'ipv6addr'>): string | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readIpv6Address(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  /** `prefix/length` text of an `ipv6prefix` attribute. */
  ipv6Prefix(name: AttributeNameOf<'ipv6prefix'>): string | undefined {
    const at = this.offsetOf(attributeDictionary[name].type);
    return at === -1 ? undefined : readIpv6Prefix(this.raw, at + ATTRIBUTE_HEADER_LENGTH, at + this.raw[at + 1]!);
  }

  /** Vendor-Specific attributes in the recommended format, optionally of one vendor only. */
  vendorSpecific(vendorId?: number): VendorSpecific[] {
    const found: VendorSpecific[] = [];
    for (const value of this.allOctets(VENDOR_SPECIFIC)) {
      const vsa = decodeVendorSpecific(value);
      if (vsa !== undefined && (vendorId === undefined || vsa.vendorId === vendorId)) found.push(vsa);
    }
    return found;
  }
}

function typeOf(attribute: AttributeName | number): number {
  return typeof attribute === 'number' ? attribute : attributeDictionary[attribute].type;
}
