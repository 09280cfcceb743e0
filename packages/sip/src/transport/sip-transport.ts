import type { SipMessage } from '../wire/sip-message.ts';
import type { SourceLimitCause } from './source-limits.ts';

/** RFC 3261 §18: the transports Sideband speaks. TLS is the media's business, not signalling's. */
export type TransportProtocol = 'UDP' | 'TCP';

/** Where a message came from; for TCP, also the connection it came on. */
export interface Peer {
  readonly transport: TransportProtocol;
  readonly address: string;
  readonly port: number;
  readonly connectionId?: number;
}

/** Where to send: an address and port, and for TCP an open connection to prefer. */
export interface Target {
  readonly host: string;
  readonly port: number;
  readonly connectionId?: number;
}

export interface TransportSink {
  message(message: SipMessage, peer: Peer): void;
  /** Bytes that were not a message; `cause` is a SipParseFailureCause or a transport cause. */
  dropped(cause: string, peer: Peer | null, detail: string): void;
  /** A connection refused or closed, or a message dropped unread, by a SourceGuard's limits. */
  limited?(cause: SourceLimitCause, peer: Peer): void;
}

export interface SipTransport {
  readonly protocol: TransportProtocol;
  /** The address and port this transport listens on (the sent-by of its Via, RFC 3261 §18.1.1). */
  readonly local: { readonly host: string; readonly port: number };
  send(bytes: Buffer, to: Target): Promise<void>;
  /** A line proved its password in a request from `peer`: its connection leaves the unauthenticated share. */
  authenticated?(peer: Peer): void;
  /** Idempotent: closing twice, or while a close is under way, is no error. */
  close(): Promise<void>;
}

/** RFC 3261 §18.1.1, §19.1.2: 5060 when a URI or Via gives no port (5061 is for TLS). */
export const DEFAULT_SIP_PORT = 5060;
