// Flow load for the soak: one exporter's IPFIX stream at a steady rate, built with
// bench/flows' replay (the test fixtures' encoders, 24 records a message, a Template Set
// every 64th). Sources are the shoppers' addresses, so the records are attributed to
// their sessions and keep their visits to the merchant fresh. The replay is rebuilt every
// few minutes so that flow times stay recent; Sequence Number and Export Time are
// rewritten as each message leaves, so the stream stays one gapless sequence.
import { createSocket, type Socket } from 'node:dgram';
import { buildFlowReplay } from '../flows/flow-replay.ts';
import type { Tally } from './tally.ts';

export interface FlowStreamOptions {
  /** host:port of the gateway's IPFIX listener. */
  readonly ipfix: string;
  /** The exporter's (registered) address, sent from. */
  readonly exporterAddress: string;
  readonly subscribers: readonly string[];
  /** IPFIX messages per second. */
  readonly rate: number;
  readonly tally: Tally;
}

const RECORDS_PER_MESSAGE = 24;
const REBUILD_MS = 3 * 60_000;
const TICK_MS = 20;

export class FlowStream {
  private readonly socket: Socket;
  private datagrams: readonly Buffer[] = [];
  private builtAt = 0;
  private next = 0;
  private sequence = 0;
  private credit = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: FlowStreamOptions) {
    this.socket = createSocket('udp4');
    this.socket.on('error', () => o.tally.add('flows socket error'));
  }

  async start(): Promise<void> {
    const port = Number(this.o.ipfix.slice(this.o.ipfix.lastIndexOf(':') + 1));
    const host = this.o.ipfix.slice(0, this.o.ipfix.lastIndexOf(':'));
    await new Promise<void>((r) => this.socket.bind(0, this.o.exporterAddress, () => r()));
    await new Promise<void>((r) => this.socket.connect(port, host, () => r()));
    this.rebuild();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.socket.close();
  }

  private rebuild(): void {
    const replay = buildFlowReplay({ subscribers: this.o.subscribers, messages: Math.max(64, Math.ceil((this.o.rate * REBUILD_MS) / 1000)), recordsPerMessage: RECORDS_PER_MESSAGE, templateEvery: 64, now: Date.now() });
    this.datagrams = replay.datagrams;
    this.builtAt = Date.now();
    this.next = 0;
  }

  private tick(): void {
    if (Date.now() - this.builtAt > REBUILD_MS) this.rebuild();
    this.credit = Math.min(this.credit + (this.o.rate * TICK_MS) / 1000, this.o.rate);
    while (this.credit >= 1) {
      this.credit--;
      // RFC 7011 §3.1: a copy with this stream's Sequence Number (Data Records sent before
      // it) and the Export Time of its sending.
      const datagram = Buffer.from(this.datagrams[this.next++ % this.datagrams.length]!);
      datagram.writeUInt32BE(Math.floor(Date.now() / 1000), 4);
      datagram.writeUInt32BE(this.sequence >>> 0, 8);
      this.sequence += RECORDS_PER_MESSAGE;
      this.socket.send(datagram);
      this.o.tally.add('flows messages sent');
    }
  }
}
