import { isIPv6 } from 'node:net';
import { formatParams, parseParams, type Params } from './generic-params.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';
import { formatHost } from './sip-uri.ts';

/**
 * One Via value (RFC 3261 §20.42, §25.1):
 * `sent-protocol LWS sent-by *( SEMI via-params )`, `sent-protocol = "SIP" SLASH "2.0" SLASH transport`.
 */
export interface Via {
  readonly protocol: string;
  readonly transport: string;
  readonly host: string;
  readonly port: number | null;
  /** branch, received, rport (RFC 3581: a flag in requests, a number once a server fills it), maddr, ttl. */
  readonly params: Params;
}

/** RFC 3261 §8.1.1.7: the branch "MUST always begin with the characters z9hG4bK". */
export const MAGIC_COOKIE = 'z9hG4bK';

const TOKEN = '[A-Za-z0-9.!%*_+`\'~-]+';
// SLASH = SWS "/" SWS: the torture tests (RFC 4475 §3.1.1.1) put spaces around the slashes.
const SENT_PROTOCOL = new RegExp(`^(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]+`);

export function parseVia(text: string): Parsed<Via> {
  if (text.length > 1024) return parseFailure('via-invalid', 'longer than 1024');
  const s = text.trim();
  const protocol = SENT_PROTOCOL.exec(s);
  if (!protocol) return parseFailure('via-invalid', 'sent-protocol');
  let rest = s.slice(protocol[0].length);
  let host: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    host = close < 0 ? '' : rest.slice(1, close);
    if (!isIPv6(host)) return parseFailure('via-invalid', 'IPv6 sent-by');
    rest = rest.slice(close + 1);
  } else {
    const m = /^[A-Za-z0-9.-]+/.exec(rest);
    if (!m) return parseFailure('via-invalid', 'sent-by host');
    host = m[0];
    rest = rest.slice(host.length);
  }
  let port: number | null = null;
  const portMatch = /^[ \t]*:[ \t]*(\d{1,5})/.exec(rest);
  if (portMatch) {
    port = Number(portMatch[1]);
    if (port < 1 || port > 65535) return parseFailure('via-invalid', 'port out of range');
    rest = rest.slice(portMatch[0].length);
  }
  // A trailing comment is allowed by RFC 2543 grammar some peers still send; drop it.
  rest = rest.replace(/[ \t]*\([^()]*\)[ \t]*$/, '');
  const params = parseParams(rest);
  if (!params.ok) return parseFailure('via-invalid', params.detail);
  return parsed({ protocol: `${protocol[1]!.toUpperCase()}/${protocol[2]!}`, transport: protocol[3]!.toUpperCase(), host, port, params: params.value });
}

export function formatVia(via: Via): string {
  return `${via.protocol}/${via.transport} ${formatHost(via.host)}${via.port === null ? '' : `:${via.port}`}${formatParams(via.params)}`;
}

export function viaBranch(via: Via): string | null {
  return via.params.get('branch') ?? null;
}
