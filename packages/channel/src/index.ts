// @sideband/channel: the secure channel's machinery shared by both ends: number pools, telephony,
// the call's TLS media and the framed exchange over it.
export * from './channel-certificate.ts';
export * from './channel-endpoint.ts';
export * from './direction-rule.ts';
export * from './exchange-session.ts';
export * from './frame-stream.ts';
export * from './media-connection.ts';
export * from './number-pool.ts';
export * from './self-signed-certificate.ts';
export * from './sip-telephony.ts';
export * from './telephony.ts';
