import fc from 'fast-check';

/**
 * One edit of a valid message. `hot` edits land on a length or count field the message's
 * format names (its "hot spots"), the others anywhere; a written length is often off by
 * a little from what the datagram holds, since that is where parsers go wrong.
 */
export type ByteMutation =
  | { readonly kind: 'set'; readonly at: number; readonly hot: boolean; readonly value: number }
  | { readonly kind: 'insert'; readonly at: number; readonly hot: boolean; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly hot: boolean; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number; readonly hot: boolean }
  | { readonly kind: 'duplicate'; readonly at: number; readonly hot: boolean; readonly length: number; readonly to: number }
  | { readonly kind: 'u8-length'; readonly at: number; readonly hot: boolean; readonly delta: number }
  | { readonly kind: 'u16-length'; readonly at: number; readonly hot: boolean; readonly value: number; readonly relative: boolean };

const interestingBytes = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x12, 0x14, 0x1a, 0x50, 0x7f, 0x80, 0xfe, 0xff];
const interestingU16 = [0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 19, 20, 21, 24, 48, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff];

const at = fc.nat();
const hot = fc.boolean();

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at, hot, value: fc.oneof(fc.constantFrom(...interestingBytes), fc.nat(255)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at, hot, bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at, hot, length: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at, hot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at, hot, length: fc.integer({ min: 1, max: 64 }), to: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('u8-length' as const), at, hot, delta: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -255, max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('u16-length' as const), at, hot, value: fc.oneof(fc.constantFrom(...interestingU16), fc.integer({ min: -8, max: 8 })), relative: fc.boolean() }) },
);

/**
 * Applies `steps` to a copy of `seed`. `hotSpots` are offsets of the length and count
 * fields of the unmutated seed; a `hot` step lands on one of them (later steps may find
 * the fields moved, which is one more way of being wrong).
 */
export function mutate(seed: Uint8Array, steps: readonly ByteMutation[], hotSpots: readonly number[] = []): Buffer {
  let out = Buffer.from(seed);
  for (const step of steps) {
    const where = (limit: number): number => {
      if (limit <= 0) return 0;
      if (step.hot && hotSpots.length > 0) return Math.min(hotSpots[step.at % hotSpots.length]!, limit - 1);
      return step.at % limit;
    };
    switch (step.kind) {
      case 'set':
        if (out.length > 0) out[where(out.length)] = step.value;
        break;
      case 'insert': {
        const i = where(out.length + 1);
        out = Buffer.concat([out.subarray(0, i), step.bytes, out.subarray(i)]);
        break;
      }
      case 'delete': {
        const i = where(out.length);
        out = Buffer.concat([out.subarray(0, i), out.subarray(i + step.length)]);
        break;
      }
      case 'truncate':
        out = out.subarray(0, where(out.length + 1));
        break;
      case 'duplicate': {
        const i = where(out.length);
        const chunk = out.subarray(i, i + step.length);
        const to = out.length === 0 ? 0 : step.to % (out.length + 1);
        out = Buffer.concat([out.subarray(0, to), chunk, out.subarray(to)]);
        break;
      }
      case 'u8-length':
        if (out.length > 0) {
          const i = where(out.length);
          out[i] = (out[i]! + step.delta) & 0xff;
        }
        break;
      case 'u16-length':
        if (out.length >= 2) {
          const i = where(out.length - 1);
          // Relative: the length of what follows the field, give or take a few octets.
          const value = step.relative ? out.length - i + (step.value % 9) : step.value;
          out.writeUInt16BE(((value % 0x10000) + 0x10000) % 0x10000, i);
        }
        break;
    }
  }
  return out;
}

/** A valid message from `seeds` edited by one to `maxSteps` mutations, with its hot spots. */
export function mutatedFrom<T>(seeds: fc.Arbitrary<T>, encode: (seed: T) => Uint8Array, hotSpots: (bytes: Uint8Array) => readonly number[], maxSteps = 6): fc.Arbitrary<Buffer> {
  return fc.tuple(seeds, fc.array(byteMutation, { minLength: 1, maxLength: maxSteps })).map(([seed, steps]) => {
    const bytes = encode(seed);
    return mutate(bytes, steps, hotSpots(bytes));
  });
}
