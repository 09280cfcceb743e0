import type { BareItem, Parameters } from './structured-fields/structured-field-value.ts';

/** The signature parameters registered by RFC 9421 §2.3, typed. */
export interface SignatureParams {
  /** Creation time, an Integer UNIX timestamp. */
  readonly created?: number;
  /** Expiration time, an Integer UNIX timestamp. */
  readonly expires?: number;
  /** "A random unique value generated for this signature as a String value." */
  readonly nonce?: string;
  /** An algorithm name from the HTTP Signature Algorithms registry (RFC 9421 §6). */
  readonly alg?: string;
  /** "The identifier for the key material as a String value." */
  readonly keyid?: string;
  /** "An application-specific tag for the signature as a String value." */
  readonly tag?: string;
}

export type SignatureParamName = keyof SignatureParams;

// RFC 9421 §2.3: the value type of each registered parameter. The order is the one the
// signer writes them in; any order is valid (the verifier keeps the order it received).
const paramTypes: Readonly<Record<SignatureParamName, 'integer' | 'string'>> = {
  created: 'integer',
  expires: 'integer',
  nonce: 'string',
  keyid: 'string',
  alg: 'string',
  tag: 'string',
};

export const signatureParamNames = Object.keys(paramTypes) as SignatureParamName[];

export function isSignatureParamName(name: string): name is SignatureParamName {
  return Object.hasOwn(paramTypes, name);
}

export type SignatureParamsResult = { readonly ok: true; readonly params: SignatureParams } | { readonly ok: false; readonly detail: string };

/**
 * Reads the registered parameters from a received Signature-Input member, checking each
 * one's type. Parameters RFC 9421 does not register are kept in the signature base as
 * received but not interpreted.
 */
export function readSignatureParams(parameters: Parameters): SignatureParamsResult {
  const params: Record<string, string | number> = {};
  for (const [name, value] of parameters) {
    if (!isSignatureParamName(name)) continue;
    const type = paramTypes[name];
    if (value.type !== type) return { ok: false, detail: `${name} must be ${type === 'integer' ? 'an Integer' : 'a String'}` };
    // A UNIX timestamp before 1970 is no time a signature was made.
    if (type === 'integer' && (value.value as number) < 0) return { ok: false, detail: `${name} must not be negative` };
    params[name] = value.value as string | number;
  }
  return { ok: true, params: params as SignatureParams };
}

/** The Parameters for a signature being made, in the order `created`, `expires`, `nonce`, `keyid`, `alg`, `tag`. */
export function signatureParameters(params: SignatureParams): Parameters {
  const parameters = new Map<string, BareItem>();
  for (const name of signatureParamNames) {
    const value = params[name];
    if (value === undefined) continue;
    parameters.set(name, paramTypes[name] === 'integer' ? { type: 'integer', value: value as number } : { type: 'string', value: value as string });
  }
  return parameters;
}
