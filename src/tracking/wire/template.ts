import type { DecoderLimits } from './decoder-limits.ts';
import { informationElements, Slot } from './information-element.ts';

/** RFC 7011 §7: a Field Length of 65535 marks a variable-length field. */
export const VARIABLE_LENGTH = 65535;

/** RFC 7011 §3.4.1, RFC 3954 §5.2: Template IDs 0–255 are reserved for Set/FlowSet IDs. */
export const MIN_TEMPLATE_ID = 256;

// The most a record can take: a 65535-octet IPFIX Message less its header and one Set header.
const MAX_RECORD_LENGTH = 65535 - 16 - 4;

export type TemplateKind = 'template' | 'options';

/** One Field Specifier as the template carries it (RFC 7011 §3.2, RFC 3954 §5.2). */
export interface FieldSpecifier {
  readonly id: number;
  /** Enterprise-specific (RFC 7011 §3.2 enterprise bit): never read, only skipped. */
  readonly enterprise: boolean;
  readonly length: number;
}

/**
 * A Template or Options Template compiled for reading: per-field arrays for records with
 * variable-length fields, and for fixed-length records a plan listing only the fields read.
 */
export interface Template {
  readonly id: number;
  readonly kind: TemplateKind;
  readonly fieldCount: number;
  readonly scopeFieldCount: number;
  /** Octets in every record, or -1 when a field has a variable length. */
  readonly fixedLength: number;
  /** Octets in the shortest possible record (RFC 7011 §3.3.1 padding is shorter than this). */
  readonly minLength: number;
  readonly lengths: Uint16Array;
  readonly slots: Uint8Array;
  readonly encodings: Uint8Array;
  /** `[offset, length, slot, encoding]` for each field read from a fixed-length record. */
  readonly plan: Int32Array;
  /** ms the template was last received; RFC 7011 §8.4 lifetime runs from here. */
  refreshedAt: number;
}

/**
 * Checks a template's fields and compiles it; `undefined` when it is invalid: no fields or
 * more than `maxFieldsPerTemplate`, a reserved Template ID, a field length that is zero,
 * above `maxFieldLength`, variable where the version has no such thing (NetFlow v9), or not
 * one the element's type allows.
 */
export function compileTemplate(
  id: number,
  kind: TemplateKind,
  fields: readonly FieldSpecifier[],
  scopeFieldCount: number,
  variableLengthAllowed: boolean,
  limits: DecoderLimits,
  now: number,
): Template | undefined {
  const count = fields.length;
  if (id < MIN_TEMPLATE_ID || count === 0 || count > limits.maxFieldsPerTemplate || scopeFieldCount > count) return undefined;
  const lengths = new Uint16Array(count);
  const slots = new Uint8Array(count).fill(Slot.NONE);
  const encodings = new Uint8Array(count);
  let minLength = 0;
  let variable = false;
  let read = 0;
  for (let i = 0; i < count; i++) {
    const field = fields[i] as FieldSpecifier;
    const length = field.length;
    if (length === 0) return undefined;
    if (length === VARIABLE_LENGTH) {
      if (!variableLengthAllowed) return undefined;
      variable = true;
    } else if (length > limits.maxFieldLength) {
      return undefined;
    }
    lengths[i] = length;
    minLength += length === VARIABLE_LENGTH ? 1 : length;
    const element = field.enterprise || i < scopeFieldCount ? undefined : informationElements.get(field.id);
    if (element === undefined || (kind === 'options' && element.slot !== Slot.SYSTEM_INIT)) continue;
    if (length < element.minLength || length > element.maxLength) return undefined;
    slots[i] = element.slot;
    encodings[i] = element.encoding;
    read++;
  }
  if (minLength > MAX_RECORD_LENGTH) return undefined;
  const plan = new Int32Array(variable ? 0 : read * 4);
  if (!variable) {
    for (let i = 0, offset = 0, p = 0; i < count; offset += lengths[i] as number, i++) {
      if (slots[i] === Slot.NONE) continue;
      plan[p++] = offset;
      plan[p++] = lengths[i] as number;
      plan[p++] = slots[i] as number;
      plan[p++] = encodings[i] as number;
    }
  }
  return { id, kind, fieldCount: count, scopeFieldCount, fixedLength: variable ? -1 : minLength, minLength, lengths, slots, encodings, plan, refreshedAt: now };
}
