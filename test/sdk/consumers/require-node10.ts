// node10 resolution reads no exports map: `.` by the package's `types`, `./channel` by its
// channel/package.json. (Top-level await is not CommonJS, so this file, not purchase.ts.)
import { SidebandClient, type Authorization } from '@sideband/merchant-sdk';
import { MerchantChannel, type ChannelEndpoint } from '@sideband/merchant-sdk/channel';

export const client = new SidebandClient({ baseUrl: 'http://127.0.0.1:7443', keyId: 'k', privateKey: '' });
export const start = (endpoint: ChannelEndpoint): MerchantChannel =>
  new MerchantChannel({ client, endpoint, listen: { host: '127.0.0.1', port: 0 }, onCard: () => {} });
export const approved = (a: Authorization): boolean => a.status === 'approved';
