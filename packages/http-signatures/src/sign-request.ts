import { Buffer } from 'node:buffer';
import { KeyObject, randomBytes, sign } from 'node:crypto';
import { contentDigest, verifyContentDigest } from './content-digest.ts';
import { checkCoveredComponents } from './covered-components.ts';
import { collectFieldLines } from './http-fields.ts';
import { bodyBytes, type HttpRequest } from './http-request.ts';
import { requestContext } from './request-context.ts';
import { createSignatureBase } from './signature-base.ts';
import { signatureParameters, type SignatureParams } from './signature-params.ts';
import { SigningError } from './signing-error.ts';
import { isKey, isPrintableAscii } from './structured-fields/characters.ts';
import { serializeDictionary } from './structured-fields/serialize-structured-field.ts';
import { innerList, item } from './structured-fields/structured-field-value.ts';

export const DEFAULT_SIGNATURE_LABEL = 'sig1';

/** How long a signature is offered for when `expires` is not given: the gateway's default maximum age. */
export const DEFAULT_SIGNATURE_LIFETIME_SECONDS = 300;

export interface SignRequestOptions {
  /** The Ed25519 private key whose public half is registered with the provider. */
  readonly privateKey: KeyObject;
  /** The key id the provider registered for that key. */
  readonly keyid: string;
  /**
   * Covered components, in order: derived components (`@method`, `@target-uri`,
   * `@authority`, `@scheme`, `@request-target`, `@path`, `@query`) and header field names,
   * which are lowercased. Default: `@method`, `@target-uri`, and `content-digest` when the
   * request has a body.
   */
  readonly components?: readonly string[];
  /** The signature's label in Signature-Input and Signature. Default `sig1`. */
  readonly label?: string;
  /** Creation time in UNIX seconds. Default: now. */
  readonly created?: number;
  /** Expiry in UNIX seconds. Default: `created` + 300; `null` leaves the parameter out. */
  readonly expires?: number | null;
  /** Default: 16 random bytes in base64url; `null` leaves the parameter out. */
  readonly nonce?: string | null;
  /** Adds `alg="ed25519"`. Left out by default: the registered key already fixes the algorithm. */
  readonly alg?: 'ed25519';
  readonly tag?: string;
}

export interface SignedRequest {
  /** The Signature-Input field value. */
  readonly signatureInput: string;
  /** The Signature field value. */
  readonly signature: string;
  /**
   * The Content-Digest field value, when `content-digest` is covered and the request had no
   * Content-Digest header: the signer computed it from the body, and it must be sent.
   */
  readonly contentDigest?: string;
  /** The signature base that was signed (RFC 9421 §2.5), for comparing with a verifier's. */
  readonly signatureBase: string;
}

/**
 * Signs a request with Ed25519 (RFC 9421 §3.1, §3.3.6) and returns the Signature-Input and
 * Signature field values to send with it. The target URI is taken as the WHATWG URL
 * serializes it, without fragment: what `fetch` puts on the wire.
 * Throws `SigningError` for input that cannot be signed.
 *
 * @example
 * const body = JSON.stringify({ amount: 1250, currency: 'EUR' });
 * const signed = signRequest(
 *   { method: 'POST', url: 'https://gateway.example/v1/purchases', headers: { 'content-type': 'application/json' }, body },
 *   { privateKey, keyid: 'merchant-42-2025' },
 * );
 * await fetch('https://gateway.example/v1/purchases', {
 *   method: 'POST',
 *   body,
 *   headers: {
 *     'content-type': 'application/json',
 *     'content-digest': signed.contentDigest!,
 *     'signature-input': signed.signatureInput,
 *     signature: signed.signature,
 *   },
 * });
 */
export function signRequest(request: HttpRequest, options: SignRequestOptions): SignedRequest {
  // RFC 9421 §3.1 step 1: "The signer MUST choose key material that is appropriate for the
  // signature's algorithm".
  const { privateKey } = options;
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new SigningError('key-unsupported', 'The signing key must be an Ed25519 private KeyObject');
  }
  const label = options.label ?? DEFAULT_SIGNATURE_LABEL;
  // RFC 9421 §4.1: the label is a Dictionary key.
  if (!isKey(label)) throw new SigningError('label-invalid', `Label ${JSON.stringify(label)} is not an RFC 8941 key`);

  const params = chooseParams(options);
  const body = request.body === undefined ? undefined : bodyBytes(request.body);
  const components = (options.components ?? defaultComponents(body !== undefined)).map((name) => name.toLowerCase());

  // Content-Digest (RFC 9530 §2) is computed here when it is covered and not given.
  let headers = request.headers;
  let addedDigest: string | undefined;
  if (components.includes('content-digest')) {
    const given = collectFieldLines(headers).get('content-digest');
    if (given === undefined) {
      addedDigest = contentDigest(body ?? new Uint8Array(0));
      headers = { ...headers, 'content-digest': addedDigest };
    } else if (body !== undefined) {
      const check = verifyContentDigest(given.join(', '), body);
      if (!check.ok) throw new SigningError('content-digest-mismatch', `The request's Content-Digest does not fit its body (${check.reason})`);
    }
  }

  const identifiers = components.map((name) => {
    if (!isPrintableText(name)) throw new SigningError('component-name-invalid', `Component name ${JSON.stringify(name)} is not printable ASCII`);
    return item({ type: 'string', value: name });
  });
  const checked = checkCoveredComponents(identifiers);
  if (!checked.ok) throw new SigningError(checked.reason, checked.detail);

  // RFC 9421 §3.1 step 4: the covered components with the signature parameters.
  const signatureParams = innerList(identifiers, signatureParameters(params));
  const context = requestContext(request.method, targetUri(request.url), headers);
  // Step 5: the signature base.
  const base = createSignatureBase(context, signatureParams);
  if (!base.ok) throw new SigningError(base.reason, base.detail);
  // Step 6: HTTP_SIGN. RFC 9421 §3.3.6: "The signature base is taken as the input message
  // (M) with no pre-hash function." Node's Ed25519 takes a null digest name for that.
  const signature = sign(null, Buffer.from(base.base, 'latin1'), privateKey);

  // RFC 9421 §4.1 and §4.2: both fields are Dictionaries keyed by the label.
  return {
    signatureInput: serializeDictionary(new Map([[label, signatureParams]])),
    signature: serializeDictionary(new Map([[label, item({ type: 'byte-sequence', value: signature })]])),
    ...(addedDigest === undefined ? {} : { contentDigest: addedDigest }),
    signatureBase: base.base,
  };
}

function defaultComponents(hasBody: boolean): string[] {
  return hasBody ? ['@method', '@target-uri', 'content-digest'] : ['@method', '@target-uri'];
}

function chooseParams(options: SignRequestOptions): SignatureParams {
  // RFC 9421 §3.1 step 2: "The signer sets the signature's creation time to the current time."
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const expires = options.expires === null ? undefined : (options.expires ?? created + DEFAULT_SIGNATURE_LIFETIME_SECONDS);
  const nonce = options.nonce === null ? undefined : (options.nonce ?? randomBytes(16).toString('base64url'));
  for (const [name, value] of [['created', created], ['expires', expires]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0 && value <= 999_999_999_999_999)) {
      throw new SigningError('param-invalid', `${name} must be a non-negative integer number of seconds`);
    }
  }
  for (const [name, value] of [['keyid', options.keyid], ['nonce', nonce], ['tag', options.tag], ['alg', options.alg]] as const) {
    // RFC 8941 §3.3.3: a String holds printable ASCII only.
    if (value !== undefined && (typeof value !== 'string' || !isPrintableText(value))) {
      throw new SigningError('param-invalid', `${name} must be a string of printable ASCII`);
    }
  }
  if (options.keyid === '') throw new SigningError('param-invalid', 'keyid must not be empty');
  if (options.alg !== undefined && options.alg !== 'ed25519') throw new SigningError('param-invalid', 'alg can only be "ed25519"');
  return { created, expires, nonce, keyid: options.keyid, alg: options.alg, tag: options.tag };
}

function isPrintableText(value: string): boolean {
  for (const c of value) if (!isPrintableAscii(c)) return false;
  return true;
}

/** The target URI as `fetch` sends it; a string no URL parser accepts is kept, to fail only if a URI component is covered. */
function targetUri(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url);
  }
  parsed.hash = '';
  return parsed.href;
}
