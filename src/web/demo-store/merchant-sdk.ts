// The demo store's one way into the merchant SDK: its public entry point, nothing deeper.
// Once the SDK is a workspace package this line becomes
// `export { SidebandClient, SidebandApiError } from '@sideband/merchant-sdk';`.
export { SidebandApiError, SidebandClient, type Authorization } from '@sideband/merchant-sdk';
