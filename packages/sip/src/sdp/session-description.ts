import { hasControlCharacter } from '../wire/control-character.ts';
import { sdpFailure, type SdpResult } from './sdp-failure.ts';

/** RFC 4566 §5.7: `c=<nettype> <addrtype> <connection-address>`. */
export interface ConnectionData {
  readonly netType: 'IN';
  readonly addrType: 'IP4' | 'IP6';
  readonly address: string;
}

/** RFC 4566 §5.2: `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`. */
export interface Origin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly netType: 'IN';
  readonly addrType: 'IP4' | 'IP6';
  readonly address: string;
}

/** RFC 4566 §5.13: `a=<attribute>` or `a=<attribute>:<value>`. */
export interface SdpAttribute {
  readonly name: string;
  readonly value: string | null;
}

/** RFC 4566 §5.14: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`. */
export interface MediaDescription {
  readonly media: string;
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly string[];
  readonly connection: ConnectionData | null;
  readonly attributes: readonly SdpAttribute[];
}

/**
 * The parts of an SDP session description (RFC 4566) that Sideband reads and writes.
 * Lines it has no use for (i=, u=, e=, p=, b=, r=, z=, k=) are accepted and dropped.
 */
export interface SessionDescription {
  readonly origin: Origin;
  readonly sessionName: string;
  readonly connection: ConnectionData | null;
  readonly attributes: readonly SdpAttribute[];
  readonly media: readonly MediaDescription[];
}

const MAX_SDP_LENGTH = 16_384;
const MAX_MEDIA = 16;
const MAX_ATTRIBUTES = 128;

export function parseSessionDescription(text: string): SdpResult<SessionDescription> {
  if (text.length > MAX_SDP_LENGTH) return sdpFailure('too-large', `${text.length} characters, limit ${MAX_SDP_LENGTH}`);
  // RFC 4566 §5: lines end in CRLF, "parsers SHOULD be tolerant and also accept records
  // terminated with a single newline character".
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const records: { type: string; value: string }[] = [];
  for (const [i, line] of lines.entries()) {
    // RFC 4566 §5: "<type> MUST be exactly one case-significant character"; "Whitespace MUST NOT be used on either side of the "=" sign."
    const m = /^([a-z])=(.*)$/.exec(line);
    if (!m || hasControlCharacter(m[2]!)) return sdpFailure('line-malformed', `line ${i + 1}`);
    records.push({ type: m[1]!, value: m[2]! });
  }
  if (records[0]?.type !== 'v' || records[0].value !== '0') return sdpFailure('header-invalid', 'first line is not v=0');
  if (records[1]?.type !== 'o') return sdpFailure('header-invalid', 'second line is not o=');
  if (records[2]?.type !== 's') return sdpFailure('header-invalid', 'third line is not s=');
  const originFields = records[1].value.split(' ');
  const [username, sessionId, sessionVersion, netType, addrType, address] = originFields;
  if (originFields.length !== 6 || netType !== 'IN' || (addrType !== 'IP4' && addrType !== 'IP6') || !/^\d+$/.test(sessionId!) || !/^\d+$/.test(sessionVersion!)) {
    return sdpFailure('origin-invalid', 'o=<username> <sess-id> <sess-version> IN IP4|IP6 <address>');
  }
  const origin: Origin = { username: username!, sessionId: sessionId!, sessionVersion: sessionVersion!, netType, addrType, address: address! };

  let connection: ConnectionData | null = null;
  const attributes: SdpAttribute[] = [];
  const media: { media: string; port: number; proto: string; formats: string[]; connection: ConnectionData | null; attributes: SdpAttribute[] }[] = [];
  let timing = false;
  let attributeCount = 0;
  for (const record of records.slice(3)) {
    const current = media.at(-1);
    switch (record.type) {
      case 'c': {
        const c = parseConnection(record.value);
        if (!c.ok) return c;
        if (current) current.connection = c.value;
        else connection = c.value;
        break;
      }
      case 't':
        timing = true;
        break;
      case 'a': {
        if (++attributeCount > MAX_ATTRIBUTES) return sdpFailure('too-large', `more than ${MAX_ATTRIBUTES} attributes`);
        const colon = record.value.indexOf(':');
        const attribute = colon < 0 ? { name: record.value, value: null } : { name: record.value.slice(0, colon), value: record.value.slice(colon + 1) };
        (current ? current.attributes : attributes).push(attribute);
        break;
      }
      case 'm': {
        if (media.length >= MAX_MEDIA) return sdpFailure('too-large', `more than ${MAX_MEDIA} media`);
        const m = /^([a-z][a-z0-9-]*) (\d{1,5})(?:\/\d+)? (\S+)((?: \S+)+)$/i.exec(record.value);
        if (!m || Number(m[2]) > 65535) return sdpFailure('media-invalid', 'm=<media> <port> <proto> <fmt> ...');
        media.push({ media: m[1]!, port: Number(m[2]), proto: m[3]!, formats: m[4]!.trim().split(' '), connection: null, attributes: [] });
        break;
      }
      default:
        break;
    }
  }
  // RFC 4566 §5: t= is required; §5.9 "t=0 0" for an unbounded session.
  if (!timing) return sdpFailure('timing-missing', 'no t= line');
  for (const m of media) if (m.connection === null && connection === null) return sdpFailure('connection-missing', `m=${m.media} has no c= line and the session has none`);
  return { ok: true, value: { origin, sessionName: records[2].value, connection, attributes, media } };
}

function parseConnection(value: string): SdpResult<ConnectionData> {
  const m = /^IN (IP4|IP6) (\S+)$/.exec(value);
  if (!m) return sdpFailure('connection-invalid', 'c=IN IP4|IP6 <address>');
  return { ok: true, value: { netType: 'IN', addrType: m[1] as 'IP4' | 'IP6', address: m[2]! } };
}

export function formatSessionDescription(sd: SessionDescription): string {
  const o = sd.origin;
  const lines = ['v=0', `o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`, `s=${sd.sessionName || '-'}`];
  if (sd.connection) lines.push(formatConnection(sd.connection));
  lines.push('t=0 0');
  for (const a of sd.attributes) lines.push(formatAttribute(a));
  for (const m of sd.media) {
    lines.push(`m=${m.media} ${m.port} ${m.proto} ${m.formats.join(' ')}`);
    if (m.connection) lines.push(formatConnection(m.connection));
    for (const a of m.attributes) lines.push(formatAttribute(a));
  }
  return `${lines.join('\r\n')}\r\n`;
}

const formatConnection = (c: ConnectionData): string => `c=${c.netType} ${c.addrType} ${c.address}`;
const formatAttribute = (a: SdpAttribute): string => (a.value === null ? `a=${a.name}` : `a=${a.name}:${a.value}`);
