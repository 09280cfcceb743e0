import { DEFAULT_SIP_PORT, type Peer, type TransportProtocol } from '../transport/sip-transport.ts';
import { formatVia, type Via } from '../wire/via.ts';
import type { Hop } from './hop.ts';
import { isIP } from 'node:net';

/**
 * Marks the top Via of a received request with where it really came from. RFC 3261
 * §18.2.1: "If the host portion of the "sent-by" parameter contains a domain name, or if
 * it contains an IP address that differs from the packet source address, the server MUST
 * add a "received" parameter". RFC 3581 §4: if the request has an rport parameter with no
 * value, the server "MUST set the value of the parameter to the source port of the
 * request" and then also adds received, even when equal.
 */
export function stampVia(via: Via, source: Peer): Via {
  const params = new Map(via.params);
  const rport = params.has('rport') && params.get('rport') === null;
  if (rport || isIP(via.host) === 0 || via.host !== source.address) params.set('received', source.address);
  if (rport) params.set('rport', String(source.port));
  return { ...via, params };
}

export const stampedViaText = (via: Via, source: Peer): string => formatVia(stampVia(via, source));

/**
 * Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4). Over TCP: the connection the
 * request came on if still open, else a new one to received (or sent-by) and the sent-by
 * port. Over UDP: received and rport when the request asked for rport, else received (or
 * sent-by) and the sent-by port.
 */
export function responseTarget(via: Via, source: Peer | null): Hop {
  const transport: TransportProtocol = via.transport === 'TCP' ? 'TCP' : 'UDP';
  const received = via.params.get('received') ?? null;
  const host = received ?? via.host;
  if (transport === 'TCP') {
    return { transport, host, port: via.port ?? DEFAULT_SIP_PORT, ...(source?.transport === 'TCP' && source.connectionId !== undefined ? { connectionId: source.connectionId } : {}) };
  }
  const rport = via.params.get('rport');
  if (rport !== undefined && rport !== null && /^\d{1,5}$/.test(rport)) return { transport, host, port: Number(rport) };
  return { transport, host, port: via.port ?? DEFAULT_SIP_PORT };
}
