// The compiled entry point of `@sideband/merchant-sdk/channel` (package.json's exports map
// names dist/channel.js): the merchant's end of the secure channel, from ./channel/.
export * from './channel/index.ts';
