// @sideband/sip/transport: every concept of this stage, for the stages above it and for tests.
export * from './connection-admission.ts';
export * from './sip-transport.ts';
export * from './source-guard.ts';
export * from './source-limits.ts';
export * from './source-rate-limiter.ts';
export * from './tcp-transport.ts';
export * from './udp-transport.ts';
