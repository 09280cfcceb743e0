import type { FieldInput } from './field-input.ts';
import { parseBareItem } from './parse-bare-item.ts';
import { parseParameters } from './parse-parameters.ts';
import { innerList, item, type InnerList, type Item } from './structured-field-value.ts';

/** RFC 8941 §4.2.3: Parsing an Item. */
export function parseItem(input: FieldInput): Item {
  const value = parseBareItem(input);
  return item(value, parseParameters(input));
}

/** RFC 8941 §4.2.1.1: Parsing an Item or Inner List. */
export function parseItemOrInnerList(input: FieldInput): Item | InnerList {
  return input.peek() === '(' ? parseInnerList(input) : parseItem(input);
}

/** RFC 8941 §4.2.1.2: Parsing an Inner List. */
export function parseInnerList(input: FieldInput): InnerList {
  input.consume();
  const items: Item[] = [];
  while (!input.isEmpty()) {
    input.discardSP();
    if (input.isEmpty()) break;
    if (input.peek() === ')') {
      input.consume();
      return innerList(items, parseParameters(input));
    }
    items.push(parseItem(input));
    // "If the first character of input_string is not SP or ")", fail parsing."
    const c = input.peek();
    if (c === '') break;
    if (c !== ' ' && c !== ')') input.fail('unexpected-character', 'Inner List items are separated by SP');
  }
  // "The end of the Inner List was not found."
  return input.fail('inner-list-unterminated', 'An Inner List has no closing parenthesis');
}
