/**
 * What an element that faces many peers (the exchange) allows each source address. RFC 3261
 * §26.1.5 leaves denial-of-service defence to the implementation; these follow the practice
 * of deployed servers: Asterisk's tcpauthtimeout/tcpauthlimit (an unauthenticated TCP
 * session has little time and little room), Kamailio's pike (requests per source address).
 */
export interface SourceLimits {
  /** TCP connections open in all, inbound and outbound. */
  readonly maxConnections: number;
  /** Inbound TCP connections from one address that have not authenticated a line; more are refused. */
  readonly maxConnectionsPerSource: number;
  /**
   * Of maxConnections, how many only connections that authenticated a line (and the
   * element's own outbound ones) may use: unauthenticated connections hold at most
   * maxConnections - reservedConnections, and past that the newest one evicts the oldest
   * of the address holding the most.
   */
  readonly reservedConnections: number;
  /** A new inbound TCP connection that has sent no request that parses within this is closed. */
  readonly firstRequestTimeoutMs: number;
  /** An inbound TCP connection on which no line has authenticated within this of opening is closed. */
  readonly authenticationTimeoutMs: number;
  /** Any TCP connection with no traffic this long is closed. */
  readonly idleTimeoutMs: number;
  /** Messages one address may send per second, UDP and TCP together (a token bucket refilled at this rate). */
  readonly messagesPerSecond: number;
  /** The bucket's size: how many messages an address may send at once after a quiet spell. */
  readonly messageBurst: number;
  /**
   * The rate for an address a line has authenticated from within the last hour (its bucket
   * holds two seconds' worth): registered lines keep room to work however busy, and
   * whatever other addresses send.
   */
  readonly lineMessagesPerSecond: number;
}

export const defaultSourceLimits: SourceLimits = Object.freeze({
  maxConnections: 1024,
  maxConnectionsPerSource: 32,
  reservedConnections: 256,
  firstRequestTimeoutMs: 5_000,
  authenticationTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  messagesPerSecond: 100,
  messageBurst: 200,
  lineMessagesPerSecond: 1000,
});

/**
 * Why the limits closed or refused a connection, or dropped a message: the labels of
 * `sideband_sip_limited_total`.
 */
export type SourceLimitCause =
  /** An inbound connection refused: its address already held maxConnectionsPerSource unauthenticated ones. */
  | 'connection-source-limit'
  /** An inbound connection refused: maxConnections are open and none is unauthenticated, so none could be evicted. */
  | 'connection-limit'
  /** An unauthenticated connection closed to make room for a newer one from an address holding fewer. */
  | 'connection-evicted'
  | 'first-request-timeout'
  | 'authentication-timeout'
  | 'idle-timeout'
  /** A message dropped unread: its address had used up its messageBurst. */
  | 'rate-limited';

/** The limits, each checked: a whole number in its range, and coherent with the others. Returns what is wrong, or null. */
export function sourceLimitsProblem(limits: SourceLimits): { name: keyof SourceLimits; message: string } | null {
  for (const name of Object.keys(defaultSourceLimits) as (keyof SourceLimits)[]) {
    const value = limits[name];
    const floor = name === 'reservedConnections' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < floor) return { name, message: `must be a whole number from ${floor}, not ${JSON.stringify(value)}` };
  }
  if (limits.reservedConnections >= limits.maxConnections) return { name: 'reservedConnections', message: 'must be below maxConnections, or no unauthenticated connection could open' };
  if (limits.authenticationTimeoutMs < limits.firstRequestTimeoutMs) return { name: 'authenticationTimeoutMs', message: 'must not be shorter than firstRequestTimeoutMs' };
  if (limits.lineMessagesPerSecond < limits.messagesPerSecond) return { name: 'lineMessagesPerSecond', message: 'must not be below messagesPerSecond' };
  return null;
}
