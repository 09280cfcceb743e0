// @sideband/sip: a SIP user agent (RFC 3261) and the TLS-over-TCP media description (RFC 4145, 8122)
// the secure channel places calls with. The stages are also exported one by one:
// ./wire (bytes <-> messages), ./protocol (transactions, dialogs, digest), ./transport, ./user-agent, ./sdp.
export * from './sip-metrics.ts';
export * from './sip-observability.ts';
export * from './user-agent/index.ts';
export * from './sdp/index.ts';
