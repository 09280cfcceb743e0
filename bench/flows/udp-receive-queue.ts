import { readFileSync } from 'node:fs';

/** What the kernel holds for a UDP socket: bytes queued (skb true size) and datagrams dropped for lack of room. */
export interface ReceiveQueue {
  readonly queued: number;
  readonly drops: number;
}

/**
 * The receive queue of the IPv4 UDP socket bound to 127.0.0.1:`port`, read from
 * /proc/net/udp (proc(5): `rx_queue` in hex, `drops` last), or null when none is bound.
 * Seen from outside, it reads the same for every collector, whatever it is written in.
 */
export function receiveQueue(port: number): ReceiveQueue | null {
  // Addresses are little-endian hex on x86: 127.0.0.1 is 0100007F.
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== local) continue;
    const queues = fields[4]?.split(':');
    return { queued: parseInt(queues?.[1] ?? '0', 16), drops: Number(fields[12] ?? 0) };
  }
  return null;
}
