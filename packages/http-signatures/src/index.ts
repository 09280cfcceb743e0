// @sideband/http-signatures: HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530).
// Merchants sign with it (through @sideband/merchant-sdk), the gateway verifies with it.
export { contentDigest, contentDigestAlgorithms, contentDigestFailures, verifyContentDigest } from './content-digest.ts';
export type { ContentDigestAlgorithm, ContentDigestFailure, ContentDigestResult } from './content-digest.ts';
export type { HttpFields } from './http-fields.ts';
export type { HttpRequest } from './http-request.ts';
export { DEFAULT_SIGNATURE_LABEL, DEFAULT_SIGNATURE_LIFETIME_SECONDS, signRequest } from './sign-request.ts';
export type { SignedRequest, SignRequestOptions } from './sign-request.ts';
export type { SignatureParamName, SignatureParams } from './signature-params.ts';
export { SigningError, signingFailures } from './signing-error.ts';
export type { SigningFailure } from './signing-error.ts';
export { verificationFailures } from './verification-failure.ts';
export type { VerificationFailure } from './verification-failure.ts';
export {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_REQUIRED_COMPONENTS,
  DEFAULT_REQUIRED_PARAMS,
  verifyRequestSignature,
} from './verify-request-signature.ts';
export type { RefusedSignature, ResolvedKey, VerificationResult, VerifiedSignature, VerifyOptions } from './verify-request-signature.ts';
// The building blocks of a signature (RFC 9421 §2, §2.5), for the gateway's own checks and
// for tests that build signatures by hand.
export { checkCoveredComponents } from './covered-components.ts';
export type { CoveredComponentFailure, CoveredComponentsResult } from './covered-components.ts';
export { requestContext } from './request-context.ts';
export type { RequestContext } from './request-context.ts';
export { createSignatureBase } from './signature-base.ts';
export type { SignatureBaseFailure, SignatureBaseResult } from './signature-base.ts';
export { signatureParameters } from './signature-params.ts';
export { parseTargetUri } from './target-uri.ts';
export type { TargetUri } from './target-uri.ts';
