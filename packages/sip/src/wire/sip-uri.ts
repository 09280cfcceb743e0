import { isIPv6 } from 'node:net';
import { hasControlCharacter } from './control-character.ts';
import { formatParams, parseParams, type Params } from './generic-params.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';

/**
 * A SIP or SIPS URI (RFC 3261 §19.1.1):
 * `sip:user:password@host:port;uri-parameters?headers`. The user part is kept unescaped
 * (`+4930123`, or `alice`); an IPv6 host is kept without its brackets.
 */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  readonly password: string | null;
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  /** The `?hname=hvalue&...` part without "?", as sent. */
  readonly headers: string | null;
}

/** Kamailio's MAX_URI_SIZE; longer URIs are refused before any other check. */
export const MAX_URI_LENGTH = 1024;

// RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ),
// user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/".
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
const PASSWORD = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;
// hostname = *( domainlabel "." ) toplabel [ "." ] (IPv4address matches it too)
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;
const HEADERS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$=&]|%[0-9A-Fa-f]{2})*$/;

export function parseSipUri(text: string): Parsed<SipUri> {
  if (text.length > MAX_URI_LENGTH) return parseFailure('uri-invalid', `longer than ${MAX_URI_LENGTH}`);
  const scheme = /^(sips?):/i.exec(text);
  if (!scheme) return parseFailure('uri-invalid', 'not a sip: or sips: URI');
  let rest = text.slice(scheme[0].length);
  if (/[\s"<>]/.test(rest) || hasControlCharacter(rest)) return parseFailure('uri-invalid', 'whitespace, control character, quote or angle bracket');

  // "@" cannot appear unescaped anywhere after the userinfo (§25.1), so the first one ends it.
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    const rawUser = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (!USER.test(rawUser)) return parseFailure('uri-invalid', 'user part');
    user = percentDecode(rawUser);
    if (colon >= 0) {
      const rawPassword = userinfo.slice(colon + 1);
      if (!PASSWORD.test(rawPassword)) return parseFailure('uri-invalid', 'password part');
      password = percentDecode(rawPassword);
    }
    rest = rest.slice(at + 1);
  }

  let headers: string | null = null;
  const question = rest.indexOf('?');
  if (question >= 0) {
    headers = rest.slice(question + 1);
    if (!HEADERS.test(headers)) return parseFailure('uri-invalid', 'headers part');
    rest = rest.slice(0, question);
  }

  let host: string;
  let afterHost: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return parseFailure('uri-invalid', 'unterminated IPv6 reference');
    host = rest.slice(1, close);
    if (!isIPv6(host)) return parseFailure('uri-invalid', 'IPv6 reference');
    afterHost = rest.slice(close + 1);
  } else {
    const end = rest.search(/[:;]/);
    host = end < 0 ? rest : rest.slice(0, end);
    if (!HOSTNAME.test(host)) return parseFailure('uri-invalid', 'host');
    afterHost = end < 0 ? '' : rest.slice(end);
  }

  let port: number | null = null;
  if (afterHost.startsWith(':')) {
    const digits = /^:(\d{1,5})/.exec(afterHost);
    if (!digits) return parseFailure('uri-invalid', 'port');
    port = Number(digits[1]);
    if (port < 1 || port > 65535) return parseFailure('uri-invalid', 'port out of range');
    afterHost = afterHost.slice(digits[0].length);
  }
  const params = parseParams(afterHost, 'uri');
  if (!params.ok) return parseFailure('uri-invalid', params.detail);
  return parsed({ scheme: scheme[1]!.toLowerCase() as 'sip' | 'sips', user, password, host, port, params: params.value, headers });
}

// decodeURIComponent throws on escapes that are not UTF-8 ("%FF"); a parser must not.
const percentDecode = (text: string): string =>
  text.includes('%') ? Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8') : text;

/** Escapes every octet of `text`'s UTF-8 that `allowed` does not match (RFC 3261 §19.1.2). */
const escape = (text: string, allowed: RegExp): string =>
  [...Buffer.from(text, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return b < 0x80 && allowed.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');

const escapeUser = (user: string): string => escape(user, /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/);
// The password is kept unescaped like the user, so it is escaped again for sending: an
// "@" or ":" in it would otherwise end the userinfo early.
const escapePassword = (password: string): string => escape(password, /[A-Za-z0-9\-_.!~*'()&=+$,]/);

export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function formatSipUri(uri: SipUri): string {
  const userinfo = uri.user === null ? '' : `${escapeUser(uri.user)}${uri.password === null ? '' : `:${escapePassword(uri.password)}`}@`;
  const port = uri.port === null ? '' : `:${uri.port}`;
  return `${uri.scheme}:${userinfo}${formatHost(uri.host)}${port}${formatParams(uri.params)}${uri.headers === null ? '' : `?${uri.headers}`}`;
}

export function sipUri(fields: { user?: string | null; host: string; port?: number | null; params?: Record<string, string | null>; scheme?: 'sip' | 'sips' }): SipUri {
  return {
    scheme: fields.scheme ?? 'sip',
    user: fields.user ?? null,
    password: null,
    host: fields.host,
    port: fields.port ?? null,
    params: new Map(Object.entries(fields.params ?? {})),
    headers: null,
  };
}
