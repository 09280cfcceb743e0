import { createSocket } from 'node:dgram';

/** A loopback UDP port free a moment ago, for a daemon that cannot bind port 0 and tell. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}
