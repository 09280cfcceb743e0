// @sideband/sip/sdp: every concept of this stage, for the stages above it and for tests.
export * from './sdp-failure.ts';
export * from './session-description.ts';
export * from './tls-stream-media.ts';
