import { isDerivedComponentName } from './derived-components.ts';
import { isTchar } from './structured-fields/characters.ts';
import type { Item } from './structured-fields/structured-field-value.ts';

/** Why a list of covered components cannot be used. */
export type CoveredComponentFailure = 'component-unsupported' | 'component-duplicate' | 'component-name-invalid';

export type CoveredComponentsResult =
  | { readonly ok: true; readonly names: readonly string[] }
  | { readonly ok: false; readonly reason: CoveredComponentFailure; readonly detail: string };

/**
 * Checks the component identifiers of a signature (RFC 9421 §2) and returns their names.
 * Component parameters (`sf`, `key`, `bs`, `req`, `tr`, `name`) are not implemented, so an
 * identifier carrying any is refused: RFC 9421 §2.5 says an implementation "MUST produce an
 * error" for "a parameter that is unknown".
 */
export function checkCoveredComponents(items: readonly Item[]): CoveredComponentsResult {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const identifier of items) {
    // RFC 9421 §2.5: "The component identifier has a component name, which is a String value"
    if (identifier.value.type !== 'string') return fail('component-name-invalid', 'A component name is a String');
    const name = identifier.value.value;
    const [firstParam] = identifier.params.keys();
    if (firstParam !== undefined) return fail('component-unsupported', `Parameter ${firstParam} on "${name}" is not supported`);
    if (name.startsWith('@')) {
      // RFC 9421 §2.3: the signature parameters component identifier "MUST NOT be enumerated
      // within the set of covered components for any signature, including itself".
      if (!isDerivedComponentName(name)) return fail('component-unsupported', `Derived component "${name}" is not supported`);
    } else if (!isLowercaseFieldName(name)) {
      // RFC 9421 §2.1: "implementations MUST use lowercased field names"
      return fail('component-name-invalid', `"${name}" is not a lowercased field name`);
    }
    // RFC 9421 §2: "Within a single list of covered components, each component identifier
    // MUST occur only once."
    if (seen.has(name)) return fail('component-duplicate', `"${name}" is covered twice`);
    seen.add(name);
    names.push(name);
  }
  return { ok: true, names };
}

/** RFC 9110 §5.1: field-name = token; lowercased per RFC 9421 §2.1. */
function isLowercaseFieldName(name: string): boolean {
  if (name.length === 0) return false;
  for (const c of name) if (!isTchar(c) || (c >= 'A' && c <= 'Z')) return false;
  return true;
}

function fail(reason: CoveredComponentFailure, detail: string): CoveredComponentsResult {
  return { ok: false, reason, detail };
}
