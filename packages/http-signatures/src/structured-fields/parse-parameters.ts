import { isKeyChar, isKeyStart } from './characters.ts';
import type { FieldInput } from './field-input.ts';
import { parseBareItem } from './parse-bare-item.ts';
import type { BareItem, Parameters } from './structured-field-value.ts';

/** RFC 8941 §4.2.3.2: Parsing Parameters. */
export function parseParameters(input: FieldInput): Parameters {
  const parameters = new Map<string, BareItem>();
  while (input.peek() === ';') {
    input.consume();
    input.discardSP();
    const key = parseKey(input);
    let value: BareItem = { type: 'boolean', value: true };
    if (input.peek() === '=') {
      input.consume();
      value = parseBareItem(input);
    }
    // "If parameters already contains a key param_key (comparing character for
    // character), overwrite its value."
    parameters.set(key, value);
  }
  return parameters;
}

/** RFC 8941 §4.2.3.3: Parsing a Key. */
export function parseKey(input: FieldInput): string {
  // "If the first character of input_string is not lcalpha or "*", fail parsing."
  if (!isKeyStart(input.peek())) input.fail('key-invalid', 'A key starts with a lowercase letter or *');
  let output = input.consume();
  while (isKeyChar(input.peek())) output += input.consume();
  return output;
}
