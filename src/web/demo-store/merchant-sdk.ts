// The demo store's one way into the merchant SDK: its public entry points, nothing deeper.
export { SidebandApiError, SidebandClient, type Authorization } from '@sideband/merchant-sdk';
export { ChannelEndpoint, createChannelIdentity, MerchantChannel, SipTelephony, type ChannelItem, type ChannelOutcome } from '@sideband/merchant-sdk/channel';
