import { cidrContains, parseCidr, type Cidr } from '../../core/network/cidr.ts';

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
  private readonly trustedProxies: readonly Cidr[];

  constructor(policy: TargetUriPolicy = {}) {
    this.publicOrigin = policy.publicOrigin;
    this.trustedProxies = (policy.trustedProxies ?? []).map((text) => parseCidr(text, 'merchantApi.trustedProxies'));
  }

  resolve(request: IncomingTarget): string {
    if (this.publicOrigin !== undefined) return `${this.publicOrigin}${request.url}`;
    const host = header(request.headers, 'host') ?? 'localhost';
    if (this.fromTrustedProxy(request.socket.remoteAddress)) {
      const reported = forwardedOrigin(request.headers);
      const proto = reported.proto ?? request.protocol;
      const origin = normalisedOrigin(proto, reported.host ?? host);
      if (origin !== null) return `${origin}${request.url}`;
    }
    return `${request.protocol}://${host}${request.url}`;
  }

  private fromTrustedProxy(peer: string | undefined): boolean {
    return peer !== undefined && this.trustedProxies.some((range) => cidrContains(range, peer));
  }
}

function header(headers: IncomingTarget['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The proto and host the nearest proxy reported; either may be absent. */
function forwardedOrigin(headers: IncomingTarget['headers']): { proto?: string; host?: string } {
  const forwarded = header(headers, 'forwarded');
  if (forwarded !== undefined) {
    const nearest = lastForwardedElement(forwarded);
    return nearest === null ? {} : { proto: nearest.get('proto'), host: nearest.get('host') };
  }
  return { proto: lastListMember(header(headers, 'x-forwarded-proto')), host: lastListMember(header(headers, 'x-forwarded-host')) };
}

function lastListMember(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const member = value.slice(value.lastIndexOf(',') + 1).trim();
  return member === '' ? undefined : member;
}

/**
 * RFC 7239 §4: `Forwarded = 1#forwarded-element`, `forwarded-element = [ forwarded-pair ]
 * *( ";" [ forwarded-pair ] )`, `forwarded-pair = token "=" value`, `value = token /
 * quoted-string`. Returns the last element's pairs, names lowercased ("Parameter names are
 * case-insensitive"), or null when the field does not parse: a proxy that writes a bad
 * field is not believed at all.
 */
function lastForwardedElement(field: string): Map<string, string> | null {
  let element = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (field[i] === ' ' || field[i] === '\t') i++;
  };
  while (i < field.length) {
    skipSpace();
    if (field[i] === ',') {
      element = new Map();
      i++;
      continue;
    }
    if (field[i] === ';') {
      i++;
      continue;
    }
    if (i >= field.length) break;
    const nameStart = i;
    while (i < field.length && isTokenChar(field[i]!)) i++;
    if (i === nameStart || field[i] !== '=') return null;
    const name = field.slice(nameStart, i).toLowerCase();
    i++;
    let value = '';
    if (field[i] === '"') {
      // RFC 9110 §5.6.4: quoted-string, with quoted-pair escapes.
      i++;
      for (;;) {
        if (i >= field.length) return null;
        const c = field[i]!;
        if (c === '"') break;
        if (c === '\\') {
          i++;
          if (i >= field.length) return null;
        }
        value += field[i];
        i++;
      }
      i++;
    } else {
      const valueStart = i;
      while (i < field.length && isTokenChar(field[i]!)) i++;
      if (i === valueStart) return null;
      value = field.slice(valueStart, i);
    }
    element.set(name, value);
    skipSpace();
    if (i < field.length && field[i] !== ';' && field[i] !== ',') return null;
  }
  return element;
}

/** RFC 9110 §5.6.2: tchar. */
function isTokenChar(c: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/.test(c);
}

/** RFC 3986 §3.2.2–3.2.3: an IP-literal, an IPv4 address or a reg-name, and an optional port. */
const HOST_AND_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?$/;

/**
 * The origin as the WHATWG URL serialises it (lowercase host, no default port): what the
 * SDK, and any fetch-based signer, puts into @target-uri. Null for anything that is not
 * http(s) and a bare host[:port].
 */
function normalisedOrigin(proto: string, host: string): string | null {
  const scheme = proto.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return null;
  if (!HOST_AND_PORT.test(host)) return null;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return null;
  }
}
