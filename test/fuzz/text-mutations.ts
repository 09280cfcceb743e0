import fc from 'fast-check';

/**
 * One edit of a valid text message: a grammar fragment (a delimiter, a line break, a
 * quote) put in, a stretch taken out or repeated, a character swapped, the end cut.
 * Fragments come from the format under test, so that edits make near-misses rather than
 * noise the first check refuses.
 */
type TextMutation =
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'replace'; readonly at: number; readonly text: string }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'case'; readonly at: number; readonly length: number };

const textMutation = (fragments: readonly string[]): fc.Arbitrary<TextMutation> => {
  const fragment = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fragments) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fragment }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fragment }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('case' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }) },
  );
};

function apply(text: string, steps: readonly TextMutation[]): string {
  let out = text;
  for (const step of steps) {
    const i = step.at % (out.length + 1);
    switch (step.kind) {
      case 'insert':
        out = out.slice(0, i) + step.text + out.slice(i);
        break;
      case 'delete':
        out = out.slice(0, i) + out.slice(i + step.length);
        break;
      case 'duplicate':
        out = out.slice(0, i) + out.slice(i, i + step.length) + out.slice(i);
        break;
      case 'replace':
        out = out.slice(0, i) + step.text + out.slice(i + 1);
        break;
      case 'truncate':
        out = out.slice(0, i);
        break;
      case 'case': {
        const part = out.slice(i, i + step.length);
        const flipped = part === part.toUpperCase() ? part.toLowerCase() : part.toUpperCase();
        out = out.slice(0, i) + flipped + out.slice(i + step.length);
        break;
      }
    }
  }
  return out;
}

/** A text from `seeds` edited by one to `maxSteps` mutations drawn from `fragments`. */
export function mutatedText(seeds: fc.Arbitrary<string>, fragments: readonly string[], maxSteps = 5): fc.Arbitrary<string> {
  return fc.tuple(seeds, fc.array(textMutation(fragments), { minLength: 1, maxLength: maxSteps })).map(([seed, steps]) => apply(seed, steps));
}
