// The datagrams every side of the bench receives: one exporter's IPFIX stream, built with
// the test fixtures so that the bench sends what the decoder tests send.
import { dataSet, ipfixMessage, templateSet } from '../../test/fixtures/flows/ipfix-message-builder.ts';
import { ipv4Fields, sampleRecord } from '../../test/fixtures/flows/sample-templates.ts';

export interface FlowReplayOptions {
  /** The subscribers' addresses, as their sessions' bindings hold them. */
  readonly subscribers: readonly string[];
  readonly messages: number;
  readonly recordsPerMessage: number;
  /** A Template Set heads the first message and every `templateEvery`-th after it. */
  readonly templateEvery: number;
  /** Epoch ms; flows end within the minute before it. */
  readonly now: number;
}

export interface FlowReplay {
  readonly datagrams: readonly Buffer[];
  readonly records: number;
  /** Records whose source is a subscriber, which Sideband can attribute. */
  readonly outbound: number;
  readonly bytes: number;
}

const TEMPLATE_ID = 256;
const DOMAIN = 1;
// An access router exports both directions of a conversation; only the outbound record
// (subscriber → destination) names the subscriber as source. A quarter of the records
// are replies, which Sideband counts as unattributed.
const REPLY_SHARE = 0.25;
const DESTINATIONS = ['198.51.100', '203.0.113'].flatMap((net) => Array.from({ length: 254 }, (_, i) => `${net}.${i + 1}`));
const RECORD_POOL = 50_000;
const SERVICES = [[6, 443], [6, 443], [6, 443], [17, 443], [6, 80], [17, 53], [17, 123]] as const;

/** mulberry32: seeded, so that every run sends the same bytes (and the book's bench draws the same records). */
export function generator(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An IPFIX stream as one exporter would send it (RFC 7011 §10.3: one Message per
 * datagram, the template resent periodically over UDP, the Sequence Number counting Data
 * Records). Destinations are skewed: most traffic goes to a few popular addresses.
 */
export function buildFlowReplay(o: FlowReplayOptions): FlowReplay {
  const random = generator(0xf10e);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const popular = (): string => DESTINATIONS[Math.floor(DESTINATIONS.length * random() ** 3)]!;
  // Encoding each record through the fixtures costs ~8 µs; messages are drawn from a pool
  // of distinct records instead, so that building stays a fraction of the run.
  const pool: { bytes: Buffer; outbound: boolean }[] = [];
  for (let i = 0; i < RECORD_POOL; i++) {
    const subscriber = pick(o.subscribers);
    const destination = popular();
    const [protocol, port] = pick(SERVICES);
    const ephemeral = 32768 + Math.floor(random() * 28232);
    const end = o.now - Math.floor(random() * 60_000);
    const packets = 1 + Math.floor(random() * 40);
    const flow = { protocol, packets, octets: packets * (64 + Math.floor(random() * 1400)), start: end - Math.floor(random() * 30_000), end };
    const outbound = random() >= REPLY_SHARE;
    const fields = sampleRecord(outbound
      ? { ...flow, source: subscriber, destination, sourcePort: ephemeral, destinationPort: port }
      : { ...flow, source: destination, destination: subscriber, sourcePort: port, destinationPort: ephemeral });
    pool.push({ bytes: Buffer.concat(fields), outbound });
  }
  const template = templateSet({ id: TEMPLATE_ID, fields: ipv4Fields });
  const exportTime = Math.floor(o.now / 1000);
  const datagrams: Buffer[] = [];
  let sequence = 0;
  let outbound = 0;
  let bytes = 0;
  for (let m = 0; m < o.messages; m++) {
    const records: Buffer[][] = [];
    for (let r = 0; r < o.recordsPerMessage; r++) {
      const record = pick(pool);
      if (record.outbound) outbound++;
      records.push([record.bytes]);
    }
    const data = dataSet(TEMPLATE_ID, ...records);
    const datagram = ipfixMessage({ exportTime, sequence, domain: DOMAIN }, ...(m % o.templateEvery === 0 ? [template, data] : [data]));
    sequence = (sequence + records.length) >>> 0;
    bytes += datagram.length;
    datagrams.push(datagram);
  }
  return { datagrams, records: o.messages * o.recordsPerMessage, outbound, bytes };
}
