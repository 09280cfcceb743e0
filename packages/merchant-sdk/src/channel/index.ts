// @sideband/merchant-sdk/channel: the merchant's (terminating) end of the secure channel.
// Import it only where the merchant runs the channel endpoint: the client at `.` stays free
// of the SIP stack and the TLS media.
export { MerchantChannel } from './merchant-channel.ts';
export type { ChannelCard, MerchantChannelOptions } from './merchant-channel.ts';
export { CallFailure, certificateFingerprint, ChannelEndpoint, createChannelIdentity, normaliseFingerprint, SipTelephony } from '@sideband/channel';
export type {
  ChannelEndpointOptions,
  ChannelIdentity,
  ChannelItem,
  ChannelOutcome,
  EstablishedCall,
  IncomingCall,
  Party,
  Peer,
  SipTelephonyOptions,
  Telephony,
} from '@sideband/channel';
