import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { stopGroup, type NetworkNamespaces } from '../../support/network-namespaces.ts';

const run = promisify(execFile);

/** One direction of one TCP connection: its payload bytes in capture order. */
export interface CapturedStream {
  readonly stream: string;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly bytes: Buffer;
}

export interface CapturedDatagram {
  readonly src: string;
  readonly dst: string;
  readonly bytes: Buffer;
}

/** What crossed one link: every IPv4 address seen, TCP payloads joined per direction (so text split over segments is whole again), UDP payloads, and the file itself. */
export interface CapturedLink {
  readonly frames: number;
  readonly addresses: ReadonlySet<string>;
  readonly streams: readonly CapturedStream[];
  readonly datagrams: readonly CapturedDatagram[];
  readonly file: Buffer;
}

/** Whether `needle` occurs anywhere in what the link carried: the raw capture file, any TCP direction, any datagram. */
export function carries(link: CapturedLink, needle: string): boolean {
  return link.file.includes(needle) || link.streams.some((s) => s.bytes.includes(needle)) || link.datagrams.some((d) => d.bytes.includes(needle));
}

/**
 * tshark capturing one interface inside a namespace into a file, then reading it back
 * (`tshark -r -T fields`). Name resolution is off (-n): reading the capture sends nothing.
 * While it captures, tshark also prints each datagram's payload (-P -l), which is how
 * `finish` knows the capture has caught up.
 */
export class LinkCapture {
  private live = '';

  private constructor(
    private readonly net: NetworkNamespaces,
    private readonly ns: string,
    private readonly peer: string,
    private readonly child: ChildProcess,
    private readonly file: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.live = (this.live + c.toString()).slice(-100_000)));
  }

  /**
   * Starts capturing `iface` of `ns`, whose neighbour on the link is `peer`, and resolves
   * once tshark says it is capturing, so nothing sent afterwards is missed.
   */
  static async start(net: NetworkNamespaces, ns: string, iface: string, peer: string, file: string, timeoutMs = 10_000): Promise<LinkCapture> {
    // -a duration: a capture outlives no interrupted run by more than two minutes.
    const child = net.spawn(ns, ['tshark', '-n', '-l', '-P', '-a', 'duration:120', '-i', iface, '-w', file, '-T', 'fields', '-e', 'udp.payload']);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark on ${iface} did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes(`Capturing on '${iface}'`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tshark on ${iface} exited ${code}: ${stderr}`));
      });
    });
    return new LinkCapture(net, ns, peer, child, file);
  }

  /**
   * Ends the capture once all that crossed the link so far is in it. libpcap hands packets
   * to tshark in blocks, up to a timeout after they crossed, and a capture stopped before
   * then loses them: so a marker datagram is sent to the peer's discard port (RFC 863),
   * and the capture stops once tshark has printed it.
   */
  async finish(timeoutMs = 5000): Promise<void> {
    const marker = `sideband-capture-end-${randomBytes(8).toString('hex')}`;
    const send = "const s = require('node:dgram').createSocket('udp4'); s.send(process.argv[1], 9, process.argv[2], () => s.close())";
    await this.net.run(this.ns, [process.execPath, '-e', send, marker, this.peer]);
    const hex = Buffer.from(marker).toString('hex');
    const deadline = Date.now() + timeoutMs;
    while (!this.live.includes(hex)) {
      if (Date.now() > deadline) throw new Error(`the capture on ${this.ns} did not see its end marker in ${timeoutMs} ms`);
      await sleep(50);
    }
    await this.stop();
  }

  /** Stops the capture the way Ctrl-C does, so tshark writes out what it holds. */
  stop(): Promise<void> {
    return stopGroup(this.child, 5000, 'SIGINT');
  }

  async read(): Promise<CapturedLink> {
    const fields = ['ip.src', 'ip.dst', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.payload', 'udp.payload'];
    const { stdout } = await run('tshark', ['-n', '-r', this.file, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])], { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 });
    const addresses = new Set<string>();
    const streams = new Map<string, { stream: string; src: string; dst: string; srcPort: number; dstPort: number; chunks: Buffer[] }>();
    const datagrams: CapturedDatagram[] = [];
    let frames = 0;
    for (const line of stdout.split('\n')) {
      if (line === '') continue;
      frames++;
      const [src = '', dst = '', stream = '', srcPort = '', dstPort = '', tcpPayload = '', udpPayload = ''] = line.split('\t');
      // An ICMP error quotes the packet it is about: tshark lists both headers' addresses, comma-separated.
      for (const a of `${src},${dst}`.split(',')) if (a) addresses.add(a);
      if (tcpPayload) {
        const key = `${stream}/${src}:${srcPort}`;
        const s = streams.get(key) ?? { stream, src, dst, srcPort: Number(srcPort), dstPort: Number(dstPort), chunks: [] };
        s.chunks.push(Buffer.from(tcpPayload.replace(/:/g, ''), 'hex'));
        streams.set(key, s);
      }
      if (udpPayload) datagrams.push({ src, dst, bytes: Buffer.from(udpPayload.replace(/:/g, ''), 'hex') });
    }
    return {
      frames,
      addresses,
      streams: [...streams.values()].map(({ chunks, ...s }) => ({ ...s, bytes: Buffer.concat(chunks) })),
      datagrams,
      file: readFileSync(this.file),
    };
  }
}
