import { holdsCardNumber } from '../../core/card/card-numbers-in-text.ts';
import { SidebandError } from '../../errors/sideband-error.ts';

// A name worth repeating back: anything else (a card number sent as a key, say) is not
// echoed, since 4xx answers are stored for idempotent replay.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Refuses, with FIELD_UNKNOWN, a field of `value` not in `allowed`; `prefix` is the path to it (`customer.`). */
export function onlyKnownFields(value: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    if (IDENTIFIER.test(key) && !holdsCardNumber(key)) throw new SidebandError('FIELD_UNKNOWN', `Unknown field ${prefix}${key}; the fields are ${allowed.join(', ')}.`, { param: `${prefix}${key}` });
    const where = prefix === '' ? 'The body' : prefix.slice(0, -1);
    throw new SidebandError('FIELD_UNKNOWN', `${where} has a field whose name is not an identifier; the fields are ${allowed.join(', ')}.`, prefix === '' ? undefined : { param: prefix.slice(0, -1) });
  }
}
