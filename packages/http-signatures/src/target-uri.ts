import { isAlpha, isDigit } from './structured-fields/characters.ts';

/** The parts of a request's target URI that the derived components read (RFC 9421 §2.2). */
export interface TargetUri {
  /** The URI as given: the `@target-uri` value (RFC 9421 §2.2.2). */
  readonly uri: string;
  /** Lowercased (RFC 9421 §2.2.4). */
  readonly scheme: string;
  /** Host lowercased, default port omitted (RFC 9421 §2.2.3, RFC 9110 §4.2.3). */
  readonly authority: string;
  /** As sent, percent-encoding untouched; empty becomes "/" (RFC 9421 §2.2.6). */
  readonly path: string;
  /** Without the "?"; null when the URI has no "?" at all (RFC 9421 §2.2.7). */
  readonly query: string | null;
}

const defaultPorts: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Splits an absolute http(s) URI, `scheme "://" authority path-abempty [ "?" query ]`
 * (RFC 3986 §3), with one bounded left-to-right scan and no regular expression. Returns
 * null for anything else: a relative reference, userinfo (RFC 9110 §4.2.4: "A sender MUST
 * NOT generate the userinfo subcomponent"), a fragment (never part of a request target),
 * or a character outside printable ASCII.
 */
export function parseTargetUri(uri: string): TargetUri | null {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    // Printable ASCII without SP; "#" starts a fragment.
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return null;
  }
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  const colon = uri.indexOf(':');
  if (colon < 1 || !isAlpha(uri[0]!)) return null;
  const scheme = uri.slice(0, colon).toLowerCase();
  for (const c of scheme) if (!(isAlpha(c) || isDigit(c) || c === '+' || c === '-' || c === '.')) return null;
  if (!Object.hasOwn(defaultPorts, scheme)) return null;
  if (uri[colon + 1] !== '/' || uri[colon + 2] !== '/') return null;

  const authorityStart = colon + 3;
  let end = authorityStart;
  while (end < uri.length && uri[end] !== '/' && uri[end] !== '?') end++;
  const authority = normalizeAuthority(uri.slice(authorityStart, end), scheme);
  if (authority === null) return null;

  const questionMark = uri.indexOf('?', end);
  const path = questionMark === -1 ? uri.slice(end) : uri.slice(end, questionMark);
  const query = questionMark === -1 ? null : uri.slice(questionMark + 1);
  return { uri, scheme, authority, path: path === '' ? '/' : path, query };
}

/** RFC 9110 §4.2.3: the host in lowercase, and no port when it is empty or the scheme's default. */
function normalizeAuthority(authority: string, scheme: string): string | null {
  if (authority === '' || authority.includes('@')) return null;
  // An IPv6 literal's colons are inside brackets (RFC 3986 §3.2.2).
  const closing = authority.startsWith('[') ? authority.indexOf(']') : -1;
  if (authority.startsWith('[') && closing === -1) return null;
  const portColon = authority.indexOf(':', closing + 1);
  const host = (portColon === -1 ? authority : authority.slice(0, portColon)).toLowerCase();
  const port = portColon === -1 ? '' : authority.slice(portColon + 1);
  if (host === '' || (closing !== -1 && closing !== host.length - 1)) return null;
  for (const c of port) if (!isDigit(c)) return null;
  return port === '' || port === defaultPorts[scheme] ? host : `${host}:${port}`;
}
