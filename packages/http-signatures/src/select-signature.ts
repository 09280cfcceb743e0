import { checkCoveredComponents } from './covered-components.ts';
import { MAX_FIELD_LENGTH } from './field-length-limit.ts';
import { readSignatureParams, type SignatureParamName, type SignatureParams } from './signature-params.ts';
import { parseDictionary } from './structured-fields/parse-dictionary.ts';
import type { Dictionary, InnerList } from './structured-fields/structured-field-value.ts';
import type { VerificationFailure } from './verification-failure.ts';

/** RFC 9421 §3.3.6: "The signature is a 64-octet concatenation of R and S". */
const ED25519_SIGNATURE_LENGTH = 64;

/** What the application requires of a signature before any key is looked up (RFC 9421 §3.2.1). */
export interface SignatureRequirements {
  readonly requiredComponents: readonly string[];
  readonly requiredParams: readonly SignatureParamName[];
  /** Consider only the signature with this label. */
  readonly label?: string;
}

/** A signature whose form and coverage meet the requirements, ready to be checked against its key. */
export interface SignatureCandidate {
  readonly label: string;
  /** The Signature-Input member: covered components with the signature parameters. */
  readonly signatureParams: InnerList;
  readonly components: readonly string[];
  readonly params: SignatureParams & { readonly keyid: string };
  readonly signature: Uint8Array;
}

export type SelectionResult =
  | { readonly ok: true; readonly candidate: SignatureCandidate }
  | { readonly ok: false; readonly reason: VerificationFailure; readonly detail: string; readonly label?: string };

/**
 * RFC 9421 §3.2 steps 1–4: parses Signature-Input and Signature and chooses the one
 * signature to verify. "If there is more than one signature value present, determine which
 * signature should be processed for this message based on the policy and configuration of
 * the verifier": here, the first label, in Signature-Input order, whose form, coverage and
 * parameters meet the requirements. Only that one is then verified, so a request carrying
 * many signatures costs one key lookup and one Ed25519 verification. When none qualifies,
 * the refusal is the first label's. Never throws.
 */
export function selectSignature(signatureInput: string | undefined, signature: string | undefined, requirements: SignatureRequirements): SelectionResult {
  if (signature === undefined) return refuse('signature-missing', 'The request has no Signature field');
  if (signatureInput === undefined) return refuse('signature-input-missing', 'The request has a Signature but no Signature-Input field');
  if (signatureInput.length > MAX_FIELD_LENGTH) return refuse('signature-header-too-long', `Signature-Input is longer than ${MAX_FIELD_LENGTH} characters`);
  if (signature.length > MAX_FIELD_LENGTH) return refuse('signature-header-too-long', `Signature is longer than ${MAX_FIELD_LENGTH} characters`);

  // Step 1: "Parse the Signature and Signature-Input fields".
  const inputs = parseDictionary(signatureInput, { maxLength: MAX_FIELD_LENGTH });
  if (!inputs.ok) return refuse('signature-input-malformed', `Signature-Input is not a Dictionary (${inputs.reason} at ${inputs.offset})`);
  const signatures = parseDictionary(signature, { maxLength: MAX_FIELD_LENGTH });
  if (!signatures.ok) return refuse('signature-malformed', `Signature is not a Dictionary (${signatures.reason} at ${signatures.offset})`);
  if (signatures.value.size === 0) return refuse('signature-missing', 'The Signature field is empty');
  if (inputs.value.size === 0) return refuse('signature-input-missing', 'The Signature-Input field is empty');

  if (requirements.label !== undefined && !inputs.value.has(requirements.label)) {
    return refuse('label-mismatch', `Signature-Input has no signature labelled ${requirements.label}`);
  }
  const labels = requirements.label === undefined ? [...inputs.value.keys()] : [requirements.label];
  let firstRefusal: SelectionResult | undefined;
  for (const label of labels) {
    const result = examine(label, inputs.value, signatures.value, requirements);
    if (result.ok) return result;
    firstRefusal ??= result;
  }
  return firstRefusal!;
}

function examine(label: string, inputs: Dictionary, signatures: Dictionary, requirements: SignatureRequirements): SelectionResult {
  const refuseLabel = (reason: VerificationFailure, detail: string): SelectionResult => ({ ok: false, reason, detail: `${label}: ${detail}`, label });

  // Step 2: "Parse the values of the chosen Signature-Input field as a parameterized Inner
  // List to get the ordered list of covered components and the signature parameters".
  const signatureParams = inputs.get(label)!;
  if (signatureParams.kind !== 'inner-list') return refuseLabel('signature-input-malformed', 'the member is not an Inner List');
  const covered = checkCoveredComponents(signatureParams.items);
  if (!covered.ok) return refuseLabel(covered.reason === 'component-unsupported' ? 'component-unsupported' : 'signature-input-malformed', covered.detail);
  const read = readSignatureParams(signatureParams.params);
  if (!read.ok) return refuseLabel('signature-input-malformed', read.detail);
  const params = read.params;

  // Step 4: "Examine the signature parameters to confirm that the signature meets the
  // requirements described in this document, as well as any additional requirements
  // defined by the application such as which message components are required to be
  // covered by the signature."
  // RFC 9421 §3.2 step 6.4: if the algorithm is given in more than one place, "the resolved
  // algorithms MUST be the same"; every registered key here is Ed25519.
  if (params.alg !== undefined && params.alg !== 'ed25519') return refuseLabel('alg-unsupported', `alg "${params.alg}" is not ed25519`);
  const uncovered = requirements.requiredComponents.filter((name) => !covered.names.includes(name));
  if (uncovered.length > 0) return refuseLabel('component-missing', `${uncovered.map((n) => `"${n}"`).join(', ')} not covered`);
  const absent = requirements.requiredParams.filter((name) => params[name] === undefined);
  if (absent.length > 0) return refuseLabel('param-missing', `${absent.join(', ')} absent`);
  // The key is looked up by keyid; there is no other way to find it.
  if (params.keyid === undefined) return refuseLabel('param-missing', 'keyid absent');

  // Step 1.2: "If the chosen Signature value does not have a corresponding Signature-Input
  // value, produce an error."
  const member = signatures.get(label);
  if (member === undefined) return refuseLabel('label-mismatch', 'Signature has no member with this label');
  // Step 3: "Parse the value of the corresponding Signature field to get the byte array
  // value of the signature". RFC 9421 §4.2: each member value is a Byte Sequence.
  if (member.kind !== 'item' || member.value.type !== 'byte-sequence') return refuseLabel('signature-malformed', 'the Signature member is not a Byte Sequence');
  if (member.value.value.length !== ED25519_SIGNATURE_LENGTH) {
    return refuseLabel('signature-malformed', `an Ed25519 signature is ${ED25519_SIGNATURE_LENGTH} octets, not ${member.value.value.length}`);
  }

  return {
    ok: true,
    candidate: { label, signatureParams, components: covered.names, params: { ...params, keyid: params.keyid }, signature: member.value.value },
  };
}

function refuse(reason: VerificationFailure, detail: string): SelectionResult {
  return { ok: false, reason, detail };
}
