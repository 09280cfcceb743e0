import { FieldInput } from './field-input.ts';
import { parseItemOrInnerList } from './parse-item.ts';
import { parseKey, parseParameters } from './parse-parameters.ts';
import { StructuredFieldError, type StructuredFieldFailure } from './structured-field-error.ts';
import { item, type Dictionary, type InnerList, type Item } from './structured-field-value.ts';

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: StructuredFieldFailure; readonly offset: number };

export interface ParseLimits {
  /** Longest field value read, in characters; longer ones fail with `field-too-long` before any parsing. */
  readonly maxLength: number;
}

/**
 * Parses a Dictionary field value (RFC 8941 §4.2 with field_type "dictionary"). Never
 * throws for bad input. Field lines of the same field must be joined with ", " first
 * (RFC 8941 §4.2: "combine all field lines in the same section … into one comma-separated
 * field-value").
 *
 * @example
 * const result = parseDictionary('sig1=:AAAA:, sig2=:BBBB:', { maxLength: 8192 });
 * if (result.ok) result.value.get('sig1');
 */
export function parseDictionary(text: string, limits: ParseLimits): ParseResult<Dictionary> {
  if (text.length > limits.maxLength) return { ok: false, reason: 'field-too-long', offset: limits.maxLength };
  // RFC 8941 §4.2 step 1: "Convert input_bytes into an ASCII string input_string; if conversion fails, fail parsing."
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return { ok: false, reason: 'not-ascii', offset: i };
  }
  const input = new FieldInput(text);
  try {
    // RFC 8941 §4.2 steps 2–6.
    input.discardSP();
    const dictionary = parseDictionaryMembers(input);
    input.discardSP();
    if (!input.isEmpty()) input.fail('trailing-characters', 'Characters after the Dictionary');
    return { ok: true, value: dictionary };
  } catch (error) {
    if (error instanceof StructuredFieldError) return { ok: false, reason: error.reason, offset: error.offset };
    throw error;
  }
}

/** RFC 8941 §4.2.2: Parsing a Dictionary. */
function parseDictionaryMembers(input: FieldInput): Dictionary {
  const dictionary = new Map<string, Item | InnerList>();
  while (!input.isEmpty()) {
    const key = parseKey(input);
    let member: Item | InnerList;
    if (input.peek() === '=') {
      input.consume();
      member = parseItemOrInnerList(input);
    } else {
      member = item({ type: 'boolean', value: true }, parseParameters(input));
    }
    // "If dictionary already contains a key this_key (comparing character for character),
    // overwrite its value."
    dictionary.set(key, member);
    input.discardOWS();
    if (input.isEmpty()) return dictionary;
    if (input.consume() !== ',') input.fail('unexpected-character', 'Dictionary members are separated by a comma');
    input.discardOWS();
    // "If input_string is empty, there is a trailing comma; fail parsing."
    if (input.isEmpty()) input.fail('trailing-comma', 'A comma ends the Dictionary');
  }
  return dictionary;
}
