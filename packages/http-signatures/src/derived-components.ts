import type { RequestContext } from './request-context.ts';

/**
 * The derived components this implementation resolves for a request (RFC 9421 §2.2).
 * `@query-param` is left out (its `name` parameter and form decoding are not needed here),
 * `@status` applies to responses only (RFC 9421 §2.2.9: it "MUST NOT be used in a request
 * message"), and `@signature-params` is never a covered component (RFC 9421 §2.3).
 */
export const derivedComponentNames = ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query'] as const;

export type DerivedComponentName = (typeof derivedComponentNames)[number];

export function isDerivedComponentName(name: string): name is DerivedComponentName {
  return (derivedComponentNames as readonly string[]).includes(name);
}

/** A derivation returns null when the target URI could not be parsed. */
type Derivation = (request: RequestContext) => string | null;

const derivations: Record<DerivedComponentName, Derivation> = {
  // RFC 9421 §2.2.1. The method is case-sensitive (RFC 9110 §9.1) and registered methods
  // are uppercase; both sides uppercase it, as other implementations do, so that a client
  // library that sends "patch" as given cannot break its own signature.
  '@method': (request) => request.method.toUpperCase(),
  // RFC 9421 §2.2.2: "the full absolute target URI of the request"
  '@target-uri': (request) => request.target?.uri ?? null,
  // RFC 9421 §2.2.3: "The component value MUST be normalized according to the rules in
  // [HTTP], Section 4.2.3. Namely, the host name is normalized to lowercase and the
  // default port is omitted."
  '@authority': (request) => request.target?.authority ?? null,
  // RFC 9421 §2.2.4: "it MUST be normalized to lowercase"
  '@scheme': (request) => request.target?.scheme ?? null,
  // RFC 9421 §2.2.5: the origin form, absolute path and query.
  '@request-target': (request) => (request.target === null ? null : request.target.path + (request.target.query === null ? '' : `?${request.target.query}`)),
  // RFC 9421 §2.2.6: "an empty path string is normalized as a single slash"
  '@path': (request) => request.target?.path ?? null,
  // RFC 9421 §2.2.7: "If the query string is absent from the request message, the value is
  // the leading `?` character alone"
  '@query': (request) => (request.target === null ? null : `?${request.target.query ?? ''}`),
};

export function deriveComponent(name: DerivedComponentName, request: RequestContext): string | null {
  return derivations[name](request);
}
