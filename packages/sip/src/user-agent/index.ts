// @sideband/sip/user-agent: every concept of this stage, for the stages above it and for tests.
export * from './answer-challenge.ts';
export * from './call.ts';
export * from './incoming-call.ts';
export * from './outgoing-call.ts';
export * from './registration.ts';
export * from './sip-failure.ts';
export * from './user-agent-core.ts';
export * from './user-agent.ts';
