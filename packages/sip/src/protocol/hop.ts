import { DEFAULT_SIP_PORT, type TransportProtocol } from '../transport/sip-transport.ts';
import { parseSipUri, type SipUri } from '../wire/sip-uri.ts';

/** The next element a request is sent to (RFC 3263 would resolve names; Sideband takes addresses). */
export interface Hop {
  readonly transport: TransportProtocol;
  readonly host: string;
  readonly port: number;
  readonly connectionId?: number;
}

/**
 * The hop a SIP URI names (RFC 3261 §8.1.2, §19.1.1): its host and port (5060 when none),
 * over the transport its `transport` parameter names (UDP when none). Returns null for
 * transports Sideband does not speak (TLS, SCTP, WS) and for sips:, which needs TLS.
 */
export function hopOf(uri: SipUri | string): Hop | null {
  let u: SipUri;
  if (typeof uri === 'string') {
    const parsed = parseSipUri(uri);
    if (!parsed.ok) return null;
    u = parsed.value;
  } else {
    u = uri;
  }
  if (u.scheme === 'sips') return null;
  const transport = (u.params.get('transport') ?? 'udp').toUpperCase();
  if (transport !== 'UDP' && transport !== 'TCP') return null;
  // RFC 3261 §19.1.1: maddr "overrides the address deduced from the host field".
  return { transport, host: u.params.get('maddr') ?? u.host, port: u.port ?? DEFAULT_SIP_PORT };
}
