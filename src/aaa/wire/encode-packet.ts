import { attributeDictionary, type AttributeName } from './attribute-dictionary.ts';
import { attributeValues, type EnumeratedAttributeName } from './attribute-values.ts';
import { writeValue, type DataTypeValue } from './attribute-value.ts';
import { PacketCode, type PacketCodeName } from './packet-code.ts';
import { ATTRIBUTE_HEADER_LENGTH, AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_PACKET_LENGTH } from './packet-format.ts';

/** What an attribute named `N` takes: its data type's value, or for an enumerated integer a value name. */
export type AttributeValueOf<N extends AttributeName> =
  | DataTypeValue[(typeof attributeDictionary)[N]['dataType']]
  | (N extends EnumeratedAttributeName ? keyof (typeof attributeValues)[N] : never);

/** An attribute by dictionary name with a typed value, or by Type number with the value's octets. */
export type AttributeInput =
  | { [N in AttributeName]: { readonly name: N; readonly value: AttributeValueOf<N> } }[AttributeName]
  | { readonly type: number; readonly value: Buffer };

export interface PacketInput {
  readonly code: PacketCodeName;
  readonly identifier: number;
  /** 16 octets; zeros when omitted, for callers that compute it over the encoded packet. */
  readonly authenticator?: Buffer;
  readonly attributes: readonly AttributeInput[];
}

// Packets are built here and copied out once they are complete; encoding is synchronous,
// so one buffer serves every call.
const scratch = Buffer.allocUnsafe(MAX_PACKET_LENGTH);

/**
 * Encodes a packet with the attributes in the order given. Values are written as they
 * are: hiding User-Password and computing authenticators belong to `protocol/`.
 * Throws RangeError or TypeError for what RADIUS cannot carry.
 *
 * @example
 * encodePacket({ code: 'Access-Reject', identifier: 7, attributes: [{ name: 'Reply-Message', value: 'Wrong password' }] });
 */
export function encodePacket(input: PacketInput): Buffer {
  if (!Number.isInteger(input.identifier) || input.identifier < 0 || input.identifier > 255) {
    throw new RangeError(`Identifier ${input.identifier} does not fit one octet (RFC 2865 §3)`);
  }
  if (input.authenticator !== undefined && input.authenticator.length !== AUTHENTICATOR_LENGTH) {
    throw new RangeError(`the Authenticator is ${AUTHENTICATOR_LENGTH} octets (RFC 2865 §3), not ${input.authenticator.length}`);
  }

  let at = HEADER_LENGTH;
  for (const attribute of input.attributes) {
    if (at + ATTRIBUTE_HEADER_LENGTH > MAX_PACKET_LENGTH) throw new RangeError(`the packet would exceed ${MAX_PACKET_LENGTH} octets (RFC 2865 §3)`);
    const valueLength = 'name' in attribute ? writeNamed(attribute.name, attribute.value, at + ATTRIBUTE_HEADER_LENGTH) : writeRaw(attribute.type, attribute.value, at + ATTRIBUTE_HEADER_LENGTH);
    scratch[at] = 'name' in attribute ? attributeDictionary[attribute.name].type : attribute.type;
    scratch[at + 1] = ATTRIBUTE_HEADER_LENGTH + valueLength;
    at += ATTRIBUTE_HEADER_LENGTH + valueLength;
  }

  scratch[0] = PacketCode[input.code];
  scratch[1] = input.identifier;
  scratch.writeUInt16BE(at, 2);
  if (input.authenticator === undefined) scratch.fill(0, AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH);
  else input.authenticator.copy(scratch, AUTHENTICATOR_OFFSET);

  const packet = Buffer.allocUnsafe(at);
  scratch.copy(packet, 0, 0, at);
  return packet;
}

function writeNamed(name: AttributeName, value: unknown, offset: number): number {
  const { dataType } = attributeDictionary[name];
  const values: Readonly<Record<string, number>> | undefined = (attributeValues as Partial<Record<AttributeName, Record<string, number>>>)[name];
  if (dataType === 'integer' && typeof value === 'string') {
    const number = values?.[value];
    if (number === undefined) throw new RangeError(`${name} has no value named ${JSON.stringify(value)}`);
    return writeValue(dataType, number, scratch, offset);
  }
  return writeValue(dataType, value, scratch, offset);
}

function writeRaw(type: number, value: Buffer, offset: number): number {
  if (!Number.isInteger(type) || type < 1 || type > 255) throw new RangeError(`attribute type ${type} is not 1-255 (RFC 2865 §5)`);
  if (!Buffer.isBuffer(value)) throw new TypeError(`attribute ${type} needs its value as a Buffer`);
  // RFC 2865 §5: the one-octet Length counts the header, leaving 253 octets of value.
  if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw new RangeError(`attribute ${type} has ${value.length} octets; a value holds at most ${MAX_ATTRIBUTE_VALUE_LENGTH} (RFC 2865 §5)`);
  }
  if (offset + value.length > MAX_PACKET_LENGTH) throw new RangeError(`the packet would exceed ${MAX_PACKET_LENGTH} octets (RFC 2865 §3)`);
  value.copy(scratch, offset);
  return value.length;
}
