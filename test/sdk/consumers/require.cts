// Under nodenext, a CommonJS file of the same project gets the `require` declarations.
import sdk = require('@sideband/merchant-sdk');
import channel = require('@sideband/merchant-sdk/channel');

export const client: sdk.SidebandClient = new sdk.SidebandClient({ baseUrl: 'http://127.0.0.1:7443', keyId: 'k', privateKey: '' });
export const start = (endpoint: channel.ChannelEndpoint): channel.MerchantChannel =>
  new channel.MerchantChannel({ client, endpoint, listen: { host: '127.0.0.1', port: 0 }, onCard: () => {} });
