import { Buffer } from 'node:buffer';
import { KeyObject, verify } from 'node:crypto';
import { verifyContentDigest } from './content-digest.ts';
import { bodyBytes, type HttpRequest } from './http-request.ts';
import { requestContext } from './request-context.ts';
import { selectSignature } from './select-signature.ts';
import { createSignatureBase } from './signature-base.ts';
import type { SignatureParamName } from './signature-params.ts';
import { StructuredFieldError } from './structured-fields/structured-field-error.ts';
import type { VerificationFailure } from './verification-failure.ts';

/** What `resolveKey` hands back: the public key, or a record that carries it (a merchant's, say). */
export type ResolvedKey = KeyObject | { readonly key: KeyObject };

/** The gateway's policy: what every merchant request must cover and carry. */
export const DEFAULT_REQUIRED_COMPONENTS: readonly string[] = ['@method', '@target-uri', 'content-digest'];
export const DEFAULT_REQUIRED_PARAMS: readonly SignatureParamName[] = ['created', 'expires', 'nonce', 'keyid'];
export const DEFAULT_MAX_AGE_SECONDS = 300;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

export interface VerifyOptions<R extends ResolvedKey = ResolvedKey> {
  /**
   * The public key registered under `keyid`, or null when there is none (or it is revoked).
   * What it throws is passed on: a store failure is not the request's fault.
   */
  resolveKey(keyid: string): Promise<R | null> | R | null;
  /** Default: the current time. */
  readonly now?: Date;
  /** Oldest `created` accepted, in seconds before now. Default 300. */
  readonly maxAgeSeconds?: number;
  /**
   * How far `created` may lie ahead of now, in seconds, for a signer whose clock runs fast.
   * Default 30. Never applied to `expires`: a signature past its expiry is refused.
   */
  readonly clockSkewSeconds?: number;
  /** Default `@method`, `@target-uri`, `content-digest`. */
  readonly requiredComponents?: readonly string[];
  /** Default `created`, `expires`, `nonce`, `keyid`; `keyid` is needed in any case. */
  readonly requiredParams?: readonly SignatureParamName[];
  /** Verify only the signature with this label; by default the first that meets the requirements. */
  readonly label?: string;
}

export interface VerifiedSignature<R extends ResolvedKey = ResolvedKey> {
  readonly ok: true;
  readonly label: string;
  readonly keyid: string;
  /** For replay detection: the caller must refuse a nonce it has seen within the maximum age. */
  readonly nonce: string | undefined;
  readonly created: number | undefined;
  readonly expires: number | undefined;
  readonly alg: string | undefined;
  readonly tag: string | undefined;
  /** The covered components, in order. */
  readonly components: readonly string[];
  /** What `resolveKey` returned. */
  readonly resolved: R;
}

export interface RefusedSignature {
  readonly ok: false;
  readonly reason: VerificationFailure;
  /** For logs: which label, component or parameter, and why. Not a stable string. */
  readonly detail: string;
  readonly label?: string;
}

export type VerificationResult<R extends ResolvedKey = ResolvedKey> = VerifiedSignature<R> | RefusedSignature;

/**
 * Verifies a request's Ed25519 HTTP Message Signature (RFC 9421 §3.2) and, when
 * `content-digest` is covered, its Content-Digest against the body (RFC 9530). Never throws
 * for anything in the request; only `resolveKey`'s own errors propagate, and a RangeError
 * for an invalid `now`, `maxAgeSeconds` or `clockSkewSeconds`.
 *
 * `url` must be the full target URI as the client addressed it (scheme, Host, raw path and
 * query), and `headers` the field lines as received; Node's `req.headersDistinct` keeps
 * repeated lines that `req.headers` would drop.
 *
 * @example
 * const result = await verifyRequestSignature(
 *   { method: req.method, url: `https://${req.headers.host}${req.url}`, headers: req.headersDistinct, body: rawBody },
 *   { resolveKey: (keyid) => merchants.activeSigningKey(keyid) },
 * );
 * if (!result.ok) return reply.code(401).send({ reason: result.reason });
 */
export async function verifyRequestSignature<R extends ResolvedKey>(request: HttpRequest, options: VerifyOptions<R>): Promise<VerificationResult<R>> {
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  // A NaN here would make every time comparison false and let any timestamp through, so a
  // bad option is the caller's bug and fails loudly rather than open.
  if (!Number.isFinite(now)) throw new RangeError('verifyRequestSignature: now is not a valid Date');
  if (!(skew >= 0 && Number.isFinite(skew))) throw new RangeError('verifyRequestSignature: clockSkewSeconds must be a non-negative number');
  if (!(maxAge >= 0 && Number.isFinite(maxAge))) throw new RangeError('verifyRequestSignature: maxAgeSeconds must be a non-negative number');

  const context = requestContext(request.method, typeof request.url === 'string' ? request.url : request.url.href, request.headers);
  const joined = (name: string): string | undefined => context.fields.get(name)?.join(', ');

  // RFC 9421 §3.2 steps 1–4.
  const selection = selectSignature(joined('signature-input'), joined('signature'), {
    requiredComponents: (options.requiredComponents ?? DEFAULT_REQUIRED_COMPONENTS).map((name) => name.toLowerCase()),
    requiredParams: options.requiredParams ?? DEFAULT_REQUIRED_PARAMS,
    label: options.label,
  });
  if (!selection.ok) return selection;
  const { label, signatureParams, components, params, signature } = selection.candidate;
  const refuse = (reason: VerificationFailure, detail: string): RefusedSignature => ({ ok: false, reason, detail: `${label}: ${detail}`, label });

  // RFC 9421 §3.2.1: "Enforcing a maximum signature age from the time of the `created` time
  // stamp" and "Rejection of signatures past the expiration time in the `expires` time
  // stamp"; "signature verification MUST fail if the signature does not conform to the
  // application's requirements". Checked before the key lookup, which costs a store query.
  // The skew is for created only: the signer chose expires as the end of the signature's
  // life, and stretching it would keep a captured request replayable for longer than that.
  if (params.expires !== undefined && now > params.expires) return refuse('signature-expired', `expired at ${params.expires}, now ${now}`);
  if (params.created !== undefined && params.created > now + skew) return refuse('signature-not-yet-valid', `created at ${params.created}, now ${now}`);
  if (params.created !== undefined && now - params.created > maxAge) return refuse('signature-too-old', `created at ${params.created}, ${now - params.created}s ago`);

  // Step 5: "If a key is identified that the verifier does not know, does not trust for this
  // request, or does not match something preconfigured, the verification MUST fail."
  const resolved = await options.resolveKey(params.keyid);
  if (resolved === null || resolved === undefined) return refuse('key-unknown', `no key ${JSON.stringify(params.keyid)}`);
  const key = resolved instanceof KeyObject ? resolved : resolved.key;
  // Step 6.4: "If the algorithms are not the same, the verifier MUST fail the verification."
  if (!(key instanceof KeyObject) || key.asymmetricKeyType !== 'ed25519') return refuse('alg-unsupported', 'the registered key is not an Ed25519 key');

  // Step 7: re-create the signature base. "The value of the `@signature-params` input is the
  // value of the Signature-Input field for this signature serialized according to the
  // rules described in Section 2.3."
  let base;
  try {
    base = createSignatureBase(context, signatureParams);
  } catch (error) {
    // Parsed values always serialize again; this is a guard, not an expected path.
    if (error instanceof StructuredFieldError) return refuse('signature-input-malformed', error.message);
    throw error;
  }
  if (!base.ok) return refuse(base.reason, base.detail);

  // Steps 8–9: HTTP_VERIFY. RFC 9421 §3.3.6: "The signature base is taken as the input
  // message (M) with no pre-hash function."
  // With a callback, Node runs the verification on its thread pool: the ~0.15 ms of Ed25519
  // work per request leaves the event loop free for other requests, on another core.
  const valid = await new Promise<boolean>((resolve) => {
    try {
      verify(null, Buffer.from(base.base, 'latin1'), key, signature, (error, ok) => resolve(!error && ok));
    } catch {
      resolve(false);
    }
  });
  if (!valid) return refuse('signature-invalid', 'Ed25519 verification failed');

  // The signature vouches for the Content-Digest field; the digest vouches for the body.
  if (components.includes('content-digest')) {
    const digest = verifyContentDigest(joined('content-digest'), bodyBytes(request.body));
    if (!digest.ok) return refuse(digest.reason, 'Content-Digest does not vouch for the body');
  }

  return {
    ok: true,
    label,
    keyid: params.keyid,
    nonce: params.nonce,
    created: params.created,
    expires: params.expires,
    alg: params.alg,
    tag: params.tag,
    components,
    resolved,
  };
}
