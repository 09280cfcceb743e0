import { createHash, randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { sdpFailure, type SdpResult } from './sdp-failure.ts';
import { formatSessionDescription, parseSessionDescription, type SdpAttribute, type SessionDescription } from './session-description.ts';

/** RFC 4145 §4: which end opens the TCP connection. */
export type SetupRole = 'active' | 'passive' | 'actpass' | 'holdconn';
/** RFC 4145 §5: whether to open a new connection or keep the one already there. */
export type ConnectionAttribute = 'new' | 'existing';

/** RFC 8122 §5: `fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint`. */
export interface Fingerprint {
  /** Lower-case, as the IANA "Hash Function Textual Names" registry spells it: sha-256. */
  readonly hashFunction: string;
  /** Upper-case hex octets joined by ":" (RFC 8122 §5: "UHEX"). */
  readonly value: string;
}

/**
 * A TLS byte stream over TCP, as an SDP offer or answer describes it: RFC 4145 for the
 * TCP connection (a=setup, a=connection), RFC 8122 for the certificate fingerprint and
 * the TCP/TLS protocol identifier (first defined by RFC 4572), on an `m=application` line.
 */
export interface TlsStreamMedia {
  /** Where the passive end listens (c= line). */
  readonly address: string;
  /**
   * The TCP port. An end that will only connect out (active) gives the discard port, 9,
   * as RFC 4145 §4.1 describes.
   */
  readonly port: number;
  readonly setup: SetupRole;
  readonly connection: ConnectionAttribute;
  readonly fingerprints: readonly Fingerprint[];
  /** The m= line's format; `*` unless the application names its own. */
  readonly format: string;
}

export const TLS_STREAM_PROTO = 'TCP/TLS';
const HASH_FUNCTIONS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512', 'md5', 'md2']);

/** The SDP text describing a TLS stream, to pass as a call's offer or answer. */
export function describeTlsStream(media: TlsStreamMedia, origin: { username?: string; sessionId?: string; sessionVersion?: string } = {}): string {
  const addrType = isIPv6(media.address) ? 'IP6' : 'IP4';
  const attributes: SdpAttribute[] = [
    { name: 'setup', value: media.setup },
    { name: 'connection', value: media.connection },
    ...media.fingerprints.map((f) => ({ name: 'fingerprint', value: `${f.hashFunction} ${f.value}` })),
  ];
  const sd: SessionDescription = {
    origin: { username: origin.username ?? '-', sessionId: origin.sessionId ?? String(randomInt(1, 2 ** 47)), sessionVersion: origin.sessionVersion ?? '1', netType: 'IN', addrType, address: media.address },
    sessionName: '-',
    connection: { netType: 'IN', addrType, address: media.address },
    attributes: [],
    media: [{ media: 'application', port: media.port, proto: TLS_STREAM_PROTO, formats: [media.format], connection: null, attributes }],
  };
  return formatSessionDescription(sd);
}

/** Reads the first `m=application` TCP/TLS stream of an offer or answer. */
export function readTlsStream(sdp: string | SessionDescription): SdpResult<TlsStreamMedia> {
  let sd: SessionDescription;
  if (typeof sdp === 'string') {
    const parsed = parseSessionDescription(sdp);
    if (!parsed.ok) return parsed;
    sd = parsed.value;
  } else {
    sd = sdp;
  }
  const m = sd.media.find((x) => x.media === 'application' && x.proto.toUpperCase() === TLS_STREAM_PROTO);
  if (!m) return sdpFailure('stream-missing', `no m=application ... ${TLS_STREAM_PROTO} line`);
  const connection = (m.connection ?? sd.connection)!;
  // Media-level attributes override session-level ones (RFC 4566 §5.13; RFC 8122 §5 allows both levels for fingerprint).
  const attribute = (name: string): string | null | undefined => (m.attributes.find((a) => a.name === name) ?? sd.attributes.find((a) => a.name === name))?.value;

  // RFC 4145 §4.1 gives defaults for an absent a=setup (active in an offer, passive in an
  // answer); Sideband always sends it, and refuses to guess which end should listen.
  const setup = attribute('setup');
  if (setup !== 'active' && setup !== 'passive' && setup !== 'actpass' && setup !== 'holdconn') return sdpFailure('setup-invalid', `a=setup:${String(setup)}`);
  // RFC 4145 §5: absent, "new" is assumed.
  const conn = attribute('connection') ?? 'new';
  if (conn !== 'new' && conn !== 'existing') return sdpFailure('connection-attribute-invalid', `a=connection:${conn}`);

  const fingerprintValues = [...m.attributes, ...sd.attributes].filter((a) => a.name === 'fingerprint').map((a) => a.value ?? '');
  const fingerprints: Fingerprint[] = [];
  for (const value of fingerprintValues) {
    const f = /^([A-Za-z0-9-]+) ((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})$/.exec(value);
    if (!f || !HASH_FUNCTIONS.has(f[1]!.toLowerCase())) return sdpFailure('fingerprint-invalid', `a=fingerprint:${value.slice(0, 40)}`);
    fingerprints.push({ hashFunction: f[1]!.toLowerCase(), value: f[2]!.toUpperCase() });
  }
  // RFC 8122 §5: the fingerprint is what authenticates the self-signed certificate the
  // TLS handshake will present; without one the peer cannot be checked at all.
  if (fingerprints.length === 0) return sdpFailure('fingerprint-invalid', 'no a=fingerprint');
  return { ok: true, value: { address: connection.address, port: m.port, setup, connection: conn, fingerprints, format: m.formats[0] ?? '*' } };
}

/**
 * RFC 4145 §4.1 answer rules: an offer of active is answered passive and vice versa; to
 * actpass the answerer may choose, and (following RFC 5763 §5) Sideband chooses active,
 * so that the offerer, which already listens, need not wait.
 */
export function answerSetupRole(offered: SetupRole): 'active' | 'passive' | 'holdconn' {
  if (offered === 'active') return 'passive';
  if (offered === 'holdconn') return 'holdconn';
  return 'active';
}

/** The fingerprint of a DER-encoded certificate (RFC 8122 §5: the hash over the DER form). */
export function certificateFingerprint(der: Buffer, hashFunction: 'sha-256' | 'sha-384' | 'sha-512' = 'sha-256'): Fingerprint {
  const digest = createHash(hashFunction.replace('-', '')).update(der).digest('hex').toUpperCase();
  return { hashFunction, value: digest.match(/../g)!.join(':') };
}
