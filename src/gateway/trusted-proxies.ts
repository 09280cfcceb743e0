import { isIP } from 'node:net';
import { cidrContains, parseCidr, type Cidr } from '../core/network/cidr.ts';

/** What is read of an incoming request; a Fastify request fits. */
export interface ProxiedRequest {
  /** `http` or `https`, as the gateway's own socket saw it. */
  readonly protocol: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** What the nearest proxy said of the client's request; any of it may be absent. */
export interface ForwardedClaims {
  readonly proto?: string | undefined;
  readonly host?: string | undefined;
  readonly for?: string | undefined;
}

/**
 * The proxies (TLS terminators, load balancers) in front of a listener whose word about
 * the client's request is believed: RFC 7239 `Forwarded` (proto, host, for) if present,
 * else `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For`. From any other peer
 * those headers are ignored: a client could write them itself.
 *
 * Only the last (rightmost) element of a forwarded list is read: it is the one the
 * proxy in front of the gateway wrote; anything to its left came from further away,
 * including the client. That proxy must therefore set or append the header it uses.
 */
export class TrustedProxies {
  private readonly ranges: readonly Cidr[];

  /** `setting` names the configuration the CIDRs came from, for the message when one is wrong. */
  constructor(cidrs: readonly string[], setting: string) {
    this.ranges = cidrs.map((text) => parseCidr(text, setting));
  }

  trusts(peer: string | undefined): boolean {
    return peer !== undefined && this.ranges.some((range) => cidrContains(range, peer));
  }

  /** What a trusted proxy reported; nothing when the peer is not one. */
  claims(request: ProxiedRequest): ForwardedClaims {
    return this.trusts(request.socket.remoteAddress) ? forwardedClaims(request.headers) : {};
  }

  /** The scheme the client used: the trusted proxy's `proto` when it gave a valid one, else the socket's. */
  protocol(request: ProxiedRequest): 'http' | 'https' {
    const proto = this.claims(request).proto?.toLowerCase();
    if (proto === 'http' || proto === 'https') return proto;
    return request.protocol === 'https' ? 'https' : 'http';
  }

  /**
   * The origin the client addressed, as the WHATWG URL serialises it (what a browser sends
   * in `Origin`): the trusted proxy's scheme and host where it gave them, else the
   * socket's scheme and the Host header. Null when that is no valid origin.
   */
  origin(request: ProxiedRequest): string | null {
    const claims = this.claims(request);
    const own = header(request.headers, 'host');
    const origin = normalisedOrigin(claims.proto ?? request.protocol, claims.host ?? own ?? '');
    // A malformed claim is not believed: the gateway's own view instead.
    return origin ?? (own === undefined ? null : normalisedOrigin(request.protocol, own));
  }

  /** The client's address: the trusted proxy's `for` when it is an address, else the socket's peer. */
  clientAddress(request: ProxiedRequest): string {
    const claimed = nodeAddress(this.claims(request).for);
    return claimed ?? (request.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/i, '');
  }
}

function header(headers: ProxiedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The proto, host and for the nearest proxy reported; any may be absent. */
export function forwardedClaims(headers: ProxiedRequest['headers']): ForwardedClaims {
  const forwarded = header(headers, 'forwarded');
  if (forwarded !== undefined) {
    const nearest = lastForwardedElement(forwarded);
    return nearest === null ? {} : { proto: nearest.get('proto'), host: nearest.get('host'), for: nearest.get('for') };
  }
  return {
    proto: lastListMember(header(headers, 'x-forwarded-proto')),
    host: lastListMember(header(headers, 'x-forwarded-host')),
    for: lastListMember(header(headers, 'x-forwarded-for')),
  };
}

function lastListMember(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const member = value.slice(value.lastIndexOf(',') + 1).trim();
  return member === '' ? undefined : member;
}

/**
 * RFC 7239 §6: `node = nodename [ ":" node-port ]`, an IPv6 nodename in brackets; "unknown"
 * and obfuscated identifiers (`_hidden`) name no address. X-Forwarded-For carries a bare
 * address. Returns the address, or undefined.
 */
function nodeAddress(node: string | undefined): string | undefined {
  if (node === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
  const text = bracketed ? bracketed[1]! : isIP(node) ? node : node.replace(/:\d+$/, '');
  return isIP(text) ? text : undefined;
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
 * The origin as the WHATWG URL serialises it (lowercase host, no default port): what a
 * browser sends in `Origin`, and what the SDK, and any fetch-based signer, puts into
 * @target-uri. Null for anything that is not http(s) and a bare host[:port].
 */
export function normalisedOrigin(proto: string, host: string): string | null {
  const scheme = proto.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return null;
  if (!HOST_AND_PORT.test(host)) return null;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return null;
  }
}
