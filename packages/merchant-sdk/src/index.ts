// Sideband's merchant SDK: a signed, retrying client for the merchant API, and webhook
// verification. See docs/merchant-api.md in the Sideband repository.
export { SidebandApiError, SidebandClient } from './client.ts';
export type { SidebandClientOptions } from './client.ts';
export { contentDigest, signRequest, verifyContentDigest, verifyRequestSignature } from '@sideband/http-signatures';
export * from './types.ts';
export { verifyWebhook, WebhookVerificationError } from './webhook-verification.ts';
export type { WebhookKeySet } from './webhook-verification.ts';
