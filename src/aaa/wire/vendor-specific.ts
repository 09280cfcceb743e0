import { ATTRIBUTE_HEADER_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH } from './packet-format.ts';

/** One vendor attribute in the format RFC 2865 §5.26 recommends: type(1) length(1) value. */
export interface VendorAttribute {
  readonly type: number;
  readonly value: Buffer;
}

/** A Vendor-Specific (26) attribute's contents: the SMI Network Management Private Enterprise Code and its attributes. */
export interface VendorSpecific {
  readonly vendorId: number;
  readonly attributes: readonly VendorAttribute[];
}

const VENDOR_ID_LENGTH = 4;

/**
 * Reads a Vendor-Specific value in the recommended format, or returns `undefined` when it is
 * not in that format, which RFC 2865 §5.26 allows ("It SHOULD be encoded as a sequence of
 * vendor type / vendor length / value fields"): the caller keeps such a value raw.
 */
export function decodeVendorSpecific(value: Buffer): VendorSpecific | undefined {
  // RFC 2865 §5.26: Length >= 7, so at least one octet of String after the Vendor-Id.
  if (value.length < VENDOR_ID_LENGTH + 1) return undefined;
  // RFC 2865 §5.26: "The high-order octet is 0".
  if (value[0] !== 0) return undefined;
  const vendorId = value.readUInt32BE(0);
  const attributes: VendorAttribute[] = [];
  let offset = VENDOR_ID_LENGTH;
  while (offset < value.length) {
    if (value.length - offset < ATTRIBUTE_HEADER_LENGTH) return undefined;
    const length = value[offset + 1]!;
    if (length < ATTRIBUTE_HEADER_LENGTH || offset + length > value.length) return undefined;
    attributes.push({ type: value[offset]!, value: value.subarray(offset + ATTRIBUTE_HEADER_LENGTH, offset + length) });
    offset += length;
  }
  return { vendorId, attributes };
}

/** Writes `vsa` as a Vendor-Specific value at `offset`; returns the octets written. */
export function writeVendorSpecific(vsa: VendorSpecific, target: Buffer, offset: number): number {
  if (!Number.isInteger(vsa.vendorId) || vsa.vendorId < 1 || vsa.vendorId > 0xffffff) {
    throw new RangeError(`Vendor-Id ${vsa.vendorId} is not a 24-bit enterprise number (RFC 2865 §5.26: "The high-order octet is 0")`);
  }
  if (vsa.attributes.length === 0) throw new RangeError('a Vendor-Specific attribute needs at least one vendor attribute');
  let length = VENDOR_ID_LENGTH;
  for (const attribute of vsa.attributes) length += ATTRIBUTE_HEADER_LENGTH + attribute.value.length;
  if (length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw new RangeError(`Vendor-Specific ${vsa.vendorId} needs ${length} octets; an attribute holds at most ${MAX_ATTRIBUTE_VALUE_LENGTH} (RFC 2865 §5)`);
  }
  if (offset + length > target.length) throw new RangeError('the packet would exceed 4096 octets (RFC 2865 §3)');
  target.writeUInt32BE(vsa.vendorId, offset);
  let at = offset + VENDOR_ID_LENGTH;
  for (const attribute of vsa.attributes) {
    if (!Number.isInteger(attribute.type) || attribute.type < 0 || attribute.type > 255) {
      throw new RangeError(`vendor attribute type ${attribute.type} does not fit one octet`);
    }
    target[at] = attribute.type;
    target[at + 1] = ATTRIBUTE_HEADER_LENGTH + attribute.value.length;
    attribute.value.copy(target, at + ATTRIBUTE_HEADER_LENGTH);
    at += ATTRIBUTE_HEADER_LENGTH + attribute.value.length;
  }
  return length;
}
