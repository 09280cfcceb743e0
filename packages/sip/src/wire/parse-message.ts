import { parseCSeq } from './cseq.ts';
import { hasControlCharacter } from './control-character.ts';
import { headerNames, TOKEN } from './header-name.ts';
import { parseNameAddress } from './name-addr.ts';
import { parseFailure, type SipParseFailure } from './parse-failure.ts';
import { SipHeaders, type HeaderField } from './sip-headers.ts';
import { SIP_VERSION, type SipMessage } from './sip-message.ts';
import { parseSipUri } from './sip-uri.ts';
import { parseVia } from './via.ts';

export interface ParseOptions {
  /** Larger messages are refused; 65,535 octets (Kamailio's BUF_SIZE) unless given. */
  readonly maxMessageSize?: number;
  /** Stream transports frame by Content-Length, which must then be present (RFC 3261 §18.3). */
  readonly stream?: boolean;
}

export type ParseResult = { readonly ok: true; readonly message: SipMessage } | SipParseFailure;

export const DEFAULT_MAX_MESSAGE_SIZE = 65_535;
const MAX_HEADERS = 256;

// RFC 3261 §7.3.1: fields that "MUST NOT" appear more than once are those whose grammar
// has no list; these are the ones whose duplicates would change how the message is read.
const singleValued = ['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type'];
// RFC 3261 §8.1.1: "A valid SIP request formulated by a UAC MUST, at a minimum, contain
// the following header fields: To, From, CSeq, Call-ID, Max-Forwards, and Via". A proxy
// still passes a request without Max-Forwards (§16.3 step 3), so it is not required here.
const required = ['via', 'from', 'to', 'call-id', 'cseq'];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one SIP message (RFC 3261 §7) from a datagram, or from a slice a stream framer
 * cut. Never throws: every fault is a specific SipParseFailure. Besides the grammar of
 * the start line and header lines, it checks the headers every later layer relies on
 * (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length), so that they can be read
 * with message-fields.ts without further checks.
 *
 * @example
 * const result = parseMessage(datagram);
 * if (!result.ok) return drops.inc({ cause: result.cause });
 */
export function parseMessage(bytes: Buffer, options: ParseOptions = {}): ParseResult {
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (bytes.length > max) return parseFailure('message-too-large', `${bytes.length} octets, limit ${max}`);

  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented
  // transports MUST ignore any CRLF appearing before the start-line"; harmless on UDP too.
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x0d || bytes[start] === 0x0a)) start++;
  const end = findHeadEnd(bytes, start);
  if (end === null) return parseFailure('head-unterminated', 'no empty line after the headers');

  let head: string;
  try {
    head = utf8.decode(bytes.subarray(start, end.headEnd));
  } catch {
    return parseFailure('encoding-invalid', 'header section is not UTF-8');
  }
  const lines = head.split(/\r?\n/);
  if (lines.some((line) => hasControlCharacter(line, true))) return parseFailure('control-character', 'control character in the header section');

  const startLine = lines[0]!;
  const fields: HeaderField[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous field;
      // the CRLF and leading whitespace are equivalent to a single SP.
      const previous = fields.pop();
      if (previous === undefined) return parseFailure('header-folding-invalid', 'continuation line before any header');
      fields.push({ ...previous, value: `${previous.value} ${line.trim()}`.trim() });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return parseFailure('header-malformed', `line ${i + 1} has no header name and colon`);
    // HCOLON = *( SP / HTAB ) ":" SWS
    const name = line.slice(0, colon).replace(/[ \t]+$/, '');
    if (!TOKEN.test(name)) return parseFailure('header-malformed', `line ${i + 1}: header name is not a token`);
    if (fields.length >= MAX_HEADERS) return parseFailure('too-many-headers', `more than ${MAX_HEADERS}`);
    const names = headerNames(name);
    fields.push({ name: names.name, key: names.key, value: line.slice(colon + 1).trim() });
  }
  const headers = SipHeaders.unchecked(fields);

  for (const key of singleValued) {
    const values = fields.filter((f) => f.key === key);
    if (values.length > 1 && values.some((f) => f.value !== values[0]!.value)) return parseFailure('header-duplicated', key);
  }
  for (const key of required) if (!headers.has(key)) return parseFailure('header-missing', key);

  const checked = checkCommonHeaders(headers);
  if (checked) return checked;

  // RFC 3261 §18.3: Content-Length frames the body.
  const available = bytes.length - end.bodyStart;
  let bodyLength = available;
  const contentLength = headers.get('content-length');
  if (contentLength !== undefined) {
    if (!/^\d{1,10}$/.test(contentLength)) return parseFailure('content-length-invalid', 'not a decimal number');
    bodyLength = Number(contentLength);
    // "If the transport packet ends before the end of the message body, this is
    // considered an error." Extra octets after the body "MUST be discarded".
    if (bodyLength > available) return parseFailure('body-truncated', `Content-Length ${bodyLength}, ${available} octets follow`);
  } else if (options.stream) {
    return parseFailure('content-length-missing', 'stream transport');
  }
  const body = Buffer.from(bytes.subarray(end.bodyStart, end.bodyStart + bodyLength));

  const response = /^SIP\/(\d+)\.(\d+) (\d{3}) ([^]*)$/i.exec(startLine);
  if (response) {
    if (`SIP/${response[1]}.${response[2]}` !== SIP_VERSION) return parseFailure('version-unsupported', `SIP/${response[1]}.${response[2]}`);
    const status = Number(response[3]);
    if (status < 100 || status > 699) return parseFailure('start-line-malformed', `status ${status}`);
    return { ok: true, message: { kind: 'response', status, reason: response[4]!, headers, body } };
  }
  // RFC 3261 §7.1: "The elements are separated by single space (SP) characters."

  const request = /^([^ ]+) ([^ ]+) SIP\/(\d+)\.(\d+)$/i.exec(startLine);
  if (!request || !TOKEN.test(request[1]!)) return parseFailure('start-line-malformed', 'not a Request-Line or Status-Line');
  if (`SIP/${request[3]}.${request[4]}` !== SIP_VERSION) return parseFailure('version-unsupported', `SIP/${request[3]}.${request[4]}`);
  const method = request[1]!;
  const uri = request[2]!;
  if (/^sips?:/i.test(uri)) {
    const parsedUri = parseSipUri(uri);
    if (!parsedUri.ok) return parseFailure('request-uri-invalid', parsedUri.detail);
  } else if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/.test(uri) || uri.length > 1024) {
    return parseFailure('request-uri-invalid', 'not an absolute URI');
  }
  const cseq = parseCSeq(headers.get('cseq')!);
  // RFC 3261 §8.1.1.5: the CSeq method "MUST match that of the request".
  if (cseq.ok && cseq.value.method !== method) return parseFailure('cseq-method-mismatch', `${method} vs ${cseq.value.method}`);
  return { ok: true, message: { kind: 'request', method, uri, headers, body } };
}

function checkCommonHeaders(headers: SipHeaders): SipParseFailure | null {
  // RFC 3261 §25.1: callid = word [ "@" word ]
  const callId = headers.get('call-id')!;
  if (!/^[^\s@]+(@[^\s@]+)?$/.test(callId) || callId.length > 256) return parseFailure('call-id-invalid', 'not word[@word]');
  const cseq = parseCSeq(headers.get('cseq')!);
  if (!cseq.ok) return cseq;
  const vias = headers.getAll('via');
  if (vias.length === 0) return parseFailure('header-missing', 'via');
  if (vias.length > 64) return parseFailure('via-invalid', 'more than 64 Via values');
  for (const value of vias) {
    const via = parseVia(value);
    if (!via.ok) return via;
  }
  const from = parseNameAddress(headers.get('from')!);
  if (!from.ok) return parseFailure('from-invalid', from.detail);
  const to = parseNameAddress(headers.get('to')!);
  if (!to.ok) return parseFailure('to-invalid', to.detail);
  const maxForwards = headers.get('max-forwards');
  // RFC 3261 §20.22: Max-Forwards = 1*DIGIT, "an integer in the range 0-255".
  if (maxForwards !== undefined && (!/^\d{1,3}$/.test(maxForwards) || Number(maxForwards) > 255)) return parseFailure('max-forwards-invalid', 'not 0-255');
  return null;
}

/** Where the header section ends: at CRLFCRLF, or LFLF from peers that send bare LF. */
export function findHeadEnd(bytes: Buffer, from: number): { headEnd: number; bodyStart: number } | null {
  const crlf = bytes.indexOf('\r\n\r\n', from);
  const lf = bytes.indexOf('\n\n', from);
  if (crlf < 0 && lf < 0) return null;
  if (crlf >= 0 && (lf < 0 || crlf + 1 <= lf)) return { headEnd: crlf, bodyStart: crlf + 4 };
  return { headEnd: lf, bodyStart: lf + 2 };
}
