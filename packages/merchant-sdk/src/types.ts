// The merchant API's objects: generated from the gateway's contract (api-types.ts), so the
// SDK, the request validation and the OpenAPI document cannot drift apart.
export * from './api-types.ts';
