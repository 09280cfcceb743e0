import { deriveComponent, isDerivedComponentName } from './derived-components.ts';
import { canonicalFieldValue, isSignatureBaseText } from './http-fields.ts';
import type { RequestContext } from './request-context.ts';
import { serializeInnerList, serializeItem } from './structured-fields/serialize-structured-field.ts';
import type { InnerList } from './structured-fields/structured-field-value.ts';

/** Why a signature base could not be created (RFC 9421 §2.5: "produce an error"). */
export type SignatureBaseFailure = 'component-unsupported' | 'component-unresolved' | 'component-value-invalid' | 'target-uri-invalid';

export type SignatureBaseResult =
  | { readonly ok: true; readonly base: string }
  | { readonly ok: false; readonly reason: SignatureBaseFailure; readonly detail: string };

/**
 * Creates the signature base (RFC 9421 §2.5) for `signatureParams`, the Inner List of
 * covered component identifiers with the signature parameters, which the caller has
 * checked with `checkCoveredComponents`. The lines are joined with LF and the
 * `"@signature-params"` line comes last, with no newline after it.
 *
 * @example
 * const result = createSignatureBase(requestContext('POST', 'https://example.com/foo', headers), signatureParams);
 * // '"@method": POST\n"@target-uri": https://example.com/foo\n"@signature-params": ("@method" "@target-uri");created=1618884473'
 */
export function createSignatureBase(request: RequestContext, signatureParams: InnerList): SignatureBaseResult {
  // RFC 9421 §2.5 step 1: "Let the output be an empty string."
  let output = '';
  // Step 2: "For each message component item in the covered components set (in order)"
  for (const identifier of signatureParams.items) {
    if (identifier.value.type !== 'string') return fail('component-unsupported', 'A component name is a String');
    const name = identifier.value.value;
    let value: string;
    if (name.startsWith('@')) {
      // "If the derived component name is unknown or the value cannot be derived, produce an error."
      if (!isDerivedComponentName(name)) return fail('component-unsupported', `Derived component "${name}" is not supported`);
      const derived = deriveComponent(name, request);
      if (derived === null) return fail('target-uri-invalid', `"${name}" needs an absolute http(s) target URI`);
      // RFC 9421 §2.2: "Derived component values MUST be limited to printable characters and
      // spaces and MUST NOT contain any newline characters. Derived component values MUST
      // NOT start or end with whitespace characters."
      if (!isDerivedValue(derived)) return fail('component-value-invalid', `"${name}" has characters a derived value cannot hold`);
      value = derived;
    } else {
      // "If the field cannot be found in the message … produce an error."
      const lines = request.fields.get(name);
      if (lines === undefined || lines.length === 0) return fail('component-unresolved', `The message has no "${name}" field`);
      value = canonicalFieldValue(lines);
      // RFC 9421 §2: "Component values MUST NOT contain newline (`\n`) characters."
      if (!isSignatureBaseText(value)) return fail('component-value-invalid', `"${name}" has characters outside US-ASCII field content`);
    }
    // Steps 2.1–2.6: the serialized component identifier, ":", SP, the value, LF.
    output += `${serializeItem(identifier)}: ${value}\n`;
  }
  // Step 3: the signature parameters line, last.
  output += `"@signature-params": ${serializeInnerList(signatureParams)}`;
  return { ok: true, base: output };
}

function isDerivedValue(value: string): boolean {
  if (value.length === 0) return true;
  if (value.startsWith(' ') || value.endsWith(' ')) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function fail(reason: SignatureBaseFailure, detail: string): SignatureBaseResult {
  return { ok: false, reason, detail };
}
