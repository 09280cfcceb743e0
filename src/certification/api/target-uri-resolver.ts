import { normalisedOrigin, TrustedProxies } from '../../gateway/trusted-proxies.ts';

/** What the resolver reads of an incoming request; a Fastify request fits. */
export interface IncomingTarget {
  /** `http` or `https`, as the gateway's own socket saw it. */
  readonly protocol: string;
  /** The request target as received (origin-form: path and query). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface TargetUriPolicy {
  /** The origin merchants sign for, as the config schema normalised it (`https://pay.isp.example`). */
  readonly publicOrigin?: string | undefined;
  /** CIDRs of the proxies whose Forwarded / X-Forwarded-Proto / X-Forwarded-Host are believed. */
  readonly trustedProxies?: readonly string[];
}

/**
 * Rebuilds the `@target-uri` a merchant signed (RFC 9421 §2.2.2: "the full target URI of
 * the request message") when the gateway may sit behind a TLS-terminating proxy that
 * changes scheme and authority. In order:
 *
 * 1. `publicOrigin` + the request target, when configured;
 * 2. the scheme and host the proxy reports, when the connection comes from a trusted proxy:
 *    RFC 7239 `Forwarded` (proto, host) if present, else `X-Forwarded-Proto` and
 *    `X-Forwarded-Host`; a value missing or malformed falls back to the socket's view;
 * 3. the gateway's own view: its socket's scheme and the Host header.
 *
 * Only the last (rightmost) element of a forwarded list is read: it is the one the
 * proxy in front of the gateway wrote; anything to its left came from further away,
 * including the client. That proxy must therefore set or append the header it uses.
 */
export class TargetUriResolver {
  private readonly publicOrigin: string | undefined;
  private readonly proxies: TrustedProxies;

  constructor(policy: TargetUriPolicy = {}) {
    this.publicOrigin = policy.publicOrigin;
    this.proxies = new TrustedProxies(policy.trustedProxies ?? [], 'merchantApi.trustedProxies');
  }

  resolve(request: IncomingTarget): string {
    if (this.publicOrigin !== undefined) return `${this.publicOrigin}${request.url}`;
    const host = header(request.headers, 'host') ?? 'localhost';
    if (this.proxies.trusts(request.socket.remoteAddress)) {
      const reported = this.proxies.claims(request);
      const origin = normalisedOrigin(reported.proto ?? request.protocol, reported.host ?? host);
      if (origin !== null) return `${origin}${request.url}`;
    }
    return `${request.protocol}://${host}${request.url}`;
  }
}

function header(headers: IncomingTarget['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
