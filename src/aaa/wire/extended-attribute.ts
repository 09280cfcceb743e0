import type { RadiusPacket } from './radius-packet.ts';
import type { AttributeInput } from './encode-packet.ts';
import { MAX_ATTRIBUTE_VALUE_LENGTH } from './packet-format.ts';

/**
 * RFC 6929 §2.1: Extended-Type attributes 241–244 ("Extended-Attribute-1" … "-4") carry
 * Type(1) Length(1) Extended-Type(1) Value; §2.2: Long Extended Type 245–246 add a flags
 * octet, M(1 bit) R(7 bits), after the Extended-Type, so that a value longer than one
 * attribute continues in the next ones of the same Type and Extended-Type.
 */
export const EXTENDED_TYPES = [241, 242, 243, 244] as const;
export const LONG_EXTENDED_TYPES = [245, 246] as const;
export type ExtendedTypeNumber = (typeof EXTENDED_TYPES)[number] | (typeof LONG_EXTENDED_TYPES)[number];

/** Where an attribute lives in the extended space: `241.6` is `{ type: 241, extendedType: 6 }`. */
export interface ExtendedAttributeId {
  readonly type: ExtendedTypeNumber;
  readonly extendedType: number;
}

/** One TLV of RFC 6929 §2.3: TLV-Type(1) TLV-Length(1) TLV-Value. */
export interface Tlv {
  readonly type: number;
  readonly value: Buffer;
}

const isLong = (type: number): boolean => type === 245 || type === 246;
// RFC 6929 §2.2: "M (More) … the Value … continues in the next attribute".
const MORE = 0x80;

/**
 * The values of every `id` attribute in `packet`, in order; Long Extended values are
 * reassembled from their fragments. Returns undefined when an attribute is malformed:
 * an Extended-Type missing (Length 3 is invalid, RFC 6929 §2.1), a Long Extended flags
 * octet missing, or a fragment chain cut short (§2.2: "the M flag … MUST NOT be set" in
 * the last fragment; a packet ending with it set is invalid). RFC 6929 §2.8 has invalid
 * attributes treated as unknown, so a caller simply finds none.
 */
export function readExtended(packet: RadiusPacket, id: ExtendedAttributeId): Buffer[] | undefined {
  const values: Buffer[] = [];
  let pending: Buffer[] | null = null;
  for (const octets of packet.allOctets(id.type)) {
    if (octets.length < (isLong(id.type) ? 2 : 1)) return undefined;
    if (octets[0] !== id.extendedType) {
      // §2.2: fragments of one value are consecutive; another Extended-Type between them breaks the chain.
      if (pending) return undefined;
      continue;
    }
    if (!isLong(id.type)) {
      values.push(octets.subarray(1));
      continue;
    }
    const more = (octets[1]! & MORE) !== 0;
    (pending ??= []).push(octets.subarray(2));
    if (!more) {
      values.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
      pending = null;
    }
  }
  return pending ? undefined : values;
}

/**
 * Builds the attribute(s) that carry `value` as `id`, for `encodePacket`: one for
 * 241–244 (at most 252 octets of value, §2.1), as many fragments as needed for 245–246.
 * Throws RangeError for what the format cannot carry.
 */
export function extendedAttribute(id: ExtendedAttributeId, value: Buffer): AttributeInput[] {
  if (!Number.isInteger(id.extendedType) || id.extendedType < 1 || id.extendedType > 255) {
    throw new RangeError(`Extended-Type ${id.extendedType} is not 1-255 (RFC 6929 §2.1)`);
  }
  if (!isLong(id.type)) {
    if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH - 1) throw new RangeError(`${id.type}.${id.extendedType} holds at most ${MAX_ATTRIBUTE_VALUE_LENGTH - 1} octets (RFC 6929 §2.1); use a Long Extended type`);
    return [{ type: id.type, value: Buffer.concat([Buffer.of(id.extendedType), value]) }];
  }
  const room = MAX_ATTRIBUTE_VALUE_LENGTH - 2;
  const fragments: AttributeInput[] = [];
  for (let at = 0; at < value.length || fragments.length === 0; at += room) {
    const chunk = value.subarray(at, at + room);
    const more = at + room < value.length;
    fragments.push({ type: id.type, value: Buffer.concat([Buffer.of(id.extendedType, more ? MORE : 0), chunk]) });
  }
  return fragments;
}

/**
 * Reads a TLV data type value (RFC 6929 §2.3), or undefined when a TLV's length is below 3
 * ("It MUST have a value between 3 and 255") or runs past the value: §2.3.2 then has the
 * whole attribute treated as invalid.
 */
export function decodeTlvs(value: Buffer): Tlv[] | undefined {
  const tlvs: Tlv[] = [];
  let at = 0;
  while (at < value.length) {
    if (value.length - at < 2) return undefined;
    const length = value[at + 1]!;
    if (length < 3 || at + length > value.length) return undefined;
    tlvs.push({ type: value[at]!, value: value.subarray(at + 2, at + length) });
    at += length;
  }
  return tlvs;
}

/** Writes TLVs in order; each value is 1 to 253 octets (RFC 6929 §2.3). */
export function encodeTlvs(tlvs: readonly Tlv[]): Buffer {
  const parts: Buffer[] = [];
  for (const tlv of tlvs) {
    if (!Number.isInteger(tlv.type) || tlv.type < 1 || tlv.type > 255) throw new RangeError(`TLV-Type ${tlv.type} is not 1-255 (RFC 6929 §2.3)`);
    if (tlv.value.length < 1 || tlv.value.length > 253) throw new RangeError(`TLV-Value of ${tlv.value.length} octets: a TLV-Length is 3 to 255 (RFC 6929 §2.3)`);
    parts.push(Buffer.of(tlv.type, tlv.value.length + 2), tlv.value);
  }
  return Buffer.concat(parts);
}
