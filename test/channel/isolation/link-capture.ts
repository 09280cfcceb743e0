import { execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
 */
export class LinkCapture {
  private constructor(
    private readonly child: ChildProcess,
    private readonly file: string,
  ) {}

  /** Resolves once tshark says it is capturing, so nothing sent afterwards is missed. */
  static async start(net: NetworkNamespaces, ns: string, iface: string, file: string, timeoutMs = 10_000): Promise<LinkCapture> {
    const child = net.spawn(ns, ['tshark', '-n', '-q', '-i', iface, '-w', file]);
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
    return new LinkCapture(child, file);
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
