import { Buffer } from 'node:buffer';
import { isKey, isPrintableAscii, isToken } from './characters.ts';
import { StructuredFieldError } from './structured-field-error.ts';
import type { BareItem, BareItemType, Dictionary, InnerList, Item, Parameters } from './structured-field-value.ts';

// RFC 8941 §4.1. Each function throws StructuredFieldError ('value-not-serializable' or
// 'key-invalid') for a value the grammar cannot carry: "fail serialization".

/** RFC 8941 §4.1.2: Serializing a Dictionary. */
export function serializeDictionary(dictionary: Dictionary): string {
  const members: string[] = [];
  for (const [key, member] of dictionary) {
    let output = serializeKey(key);
    // "If value is Boolean true: append the result of Serializing the Parameters"
    if (member.kind === 'item' && member.value.type === 'boolean' && member.value.value) {
      output += serializeParameters(member.params);
    } else {
      output += '=' + serializeItemOrInnerList(member);
    }
    members.push(output);
  }
  return members.join(', ');
}

export function serializeItemOrInnerList(member: Item | InnerList): string {
  return member.kind === 'item' ? serializeItem(member) : serializeInnerList(member);
}

/** RFC 8941 §4.1.1.1: Serializing an Inner List. */
export function serializeInnerList(list: InnerList): string {
  return '(' + list.items.map(serializeItem).join(' ') + ')' + serializeParameters(list.params);
}

/** RFC 8941 §4.1.3: Serializing an Item. */
export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

/** RFC 8941 §4.1.1.2: Serializing Parameters. */
export function serializeParameters(params: Parameters): string {
  let output = '';
  for (const [key, value] of params) {
    output += ';' + serializeKey(key);
    // "If value is not Boolean true: append "=" … and the result of Serializing a Bare Item"
    if (!(value.type === 'boolean' && value.value)) output += '=' + serializeBareItem(value);
  }
  return output;
}

/** RFC 8941 §4.1.1.3: Serializing a Key. */
export function serializeKey(key: string): string {
  if (!isKey(key)) throw new StructuredFieldError('key-invalid', 0, `Not a structured field key: ${JSON.stringify(key)}`);
  return key;
}

type Serializers = { [T in BareItemType]: (value: Extract<BareItem, { type: T }>['value']) => string };

/** RFC 8941 §4.1.3.1: Serializing a Bare Item, by type. */
const bareItemSerializers: Serializers = {
  // RFC 8941 §4.1.4
  integer(value) {
    // "If input_integer is not an integer in the range of -999,999,999,999,999 to
    // 999,999,999,999,999 inclusive, fail serialization."
    if (!Number.isInteger(value) || Math.abs(value) > 999_999_999_999_999) notSerializable(`Integer out of range: ${value}`);
    return value.toFixed(0);
  },
  // RFC 8941 §4.1.5
  decimal(value) {
    if (!Number.isFinite(value)) notSerializable(`Decimal not finite: ${value}`);
    // "If input_decimal is not a decimal number, fail serialization." … "round to the
    // nearest decimal number with no more than three fractional digits (rounding ties to even)"
    const thousandths = roundHalfEven(Math.abs(value) * 1000);
    const integerPart = Math.floor(thousandths / 1000);
    // "If the number of characters in integer_component is greater than 12, fail serialization."
    if (integerPart.toFixed(0).length > 12) notSerializable(`Decimal integer component too long: ${value}`);
    const fraction = (thousandths % 1000).toString().padStart(3, '0').replace(/0{1,2}$/, '');
    return (value < 0 && thousandths !== 0 ? '-' : '') + integerPart.toFixed(0) + '.' + fraction;
  },
  // RFC 8941 §4.1.6
  string(value) {
    let output = '"';
    for (const c of value) {
      // "If input_string contains characters in the range %x00-1f or %x7f-ff (i.e., not in VCHAR or SP), fail serialization."
      if (!isPrintableAscii(c)) notSerializable('A String holds only printable ASCII');
      if (c === '\\' || c === '"') output += '\\';
      output += c;
    }
    return output + '"';
  },
  // RFC 8941 §4.1.7
  token(value) {
    if (!isToken(value)) notSerializable(`Not a Token: ${JSON.stringify(value)}`);
    return value;
  },
  // RFC 8941 §4.1.8
  'byte-sequence'(value) {
    return ':' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') + ':';
  },
  // RFC 8941 §4.1.9
  boolean(value) {
    return value ? '?1' : '?0';
  },
};

export function serializeBareItem(bare: BareItem): string {
  return (bareItemSerializers[bare.type] as (value: BareItem['value']) => string)(bare.value);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function notSerializable(message: string): never {
  throw new StructuredFieldError('value-not-serializable', 0, message);
}
