import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { dropCauses, type DropCause } from '../../src/tracking/wire/drop-cause.ts';
import { FlowDecoder } from '../../src/tracking/wire/flow-decoder.ts';
import type { FlowRecord } from '../../src/tracking/wire/flow-record.ts';
import { address, u16, u32, u64, u8, variable } from '../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, ipfixSet, optionsTemplateSet, templateSet, withdrawalSet, type FieldSpec } from '../fixtures/flows/ipfix-message-builder.ts';
import { v5Packet, type V5Record } from '../fixtures/flows/netflow-v5-builder.ts';
import { v9DataFlowSet, v9OptionsTemplateFlowSet, v9Packet, v9TemplateFlowSet } from '../fixtures/flows/netflow-v9-builder.ts';
import { mutatedFrom } from './byte-mutations.ts';
import { fuzzTestTimeout, fuzzWithinBudget, Reached } from './fuzz-within-budget.ts';

// The flow collector's decoders, one target per export version. Each run feeds a stream
// of datagrams from a few exporters to one FlowDecoder: datagrams built from generated
// flows with the test fixtures, the same with edits aimed at every length and count
// field, and random octets. Built datagrams are also decoded alone, where the records
// must be the flows they were built from (the fixtures are the encoder). Complements
// test/tracking/wire/decoder-properties.test.ts, which fixes run counts and mutates a
// handful of seeds.

const NOW = 1_750_000_000_000;
const EXPORT_SECONDS = Math.floor(NOW / 1000);
const smallLimits = { maxExporters: 3, maxDomainsPerExporter: 2, maxTemplatesPerDomain: 4, maxTemplatesPerExporter: 6, maxTemplates: 10, maxFieldsPerTemplate: 24, maxHeldBytesPerExporter: 1024, maxHeldBytes: 2048 };
const exporters = ['198.51.100.1', '198.51.100.2', '2001:db8::9'];

/** A flow as generated, in the ranges each field's encoding can carry. */
interface Flow {
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly protocol: number;
  readonly packets: number;
  readonly octets: number;
  /** Seconds before export, and how long it lasted in ms. */
  readonly ago: number;
  readonly duration: number;
  readonly nat?: { readonly source: string; readonly port: number };
}

const flow = (family: 4 | 6): fc.Arbitrary<Flow> => fc.record({
  source: family === 4 ? fc.ipV4() : fc.ipV6(),
  destination: family === 4 ? fc.ipV4() : fc.ipV6(),
  sourcePort: fc.nat(65535),
  destinationPort: fc.nat(65535),
  protocol: fc.nat(255),
  packets: fc.nat({ max: 0xffffffff }),
  octets: fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  ago: fc.nat(3600),
  duration: fc.nat(600_000),
  nat: fc.option(fc.record({ source: fc.ipV4(), port: fc.nat(65535) }), { nil: undefined }),
}, { requiredKeys: ['source', 'destination', 'sourcePort', 'destinationPort', 'protocol', 'packets', 'octets', 'ago', 'duration'] });

/** How a template carries times: RFC 7011 §6.1 encodings, and NetFlow's sysUpTime. */
type TimeEncoding = 'milliseconds' | 'seconds' | 'sysuptime';

interface Layout {
  readonly family: 4 | 6;
  readonly time: TimeEncoding;
  readonly octetsLength: 4 | 8;
  readonly nat: boolean;
  /** IPFIX only: an enterprise field and a variable-length field, both skipped. */
  readonly extras: boolean;
}

const SYS_UPTIME = 3_600_000;

function fields(l: Layout, ipfix: boolean): FieldSpec[] {
  const addressLength = l.family === 4 ? 4 : 16;
  const times: FieldSpec[] = l.time === 'milliseconds' ? [{ id: 152, length: 8 }, { id: 153, length: 8 }] : l.time === 'seconds' ? [{ id: 150, length: 4 }, { id: 151, length: 4 }] : [{ id: 22, length: 4 }, { id: 21, length: 4 }];
  return [
    { id: l.family === 4 ? 8 : 27, length: addressLength }, { id: l.family === 4 ? 12 : 28, length: addressLength },
    { id: 7, length: 2 }, { id: 11, length: 2 }, { id: 4, length: 1 }, { id: 2, length: 4 }, { id: 1, length: l.octetsLength }, ...times,
    ...(l.nat ? [{ id: 225, length: 4 }, { id: 227, length: 2 }] : []),
    { id: 999, length: 3 },
    ...(ipfix && l.extras ? [{ id: 1, length: 4, enterprise: 29305 }, { id: 82, length: 65535 }] : []),
  ];
}

/** Epoch ms the flow started and ended, as the chosen encoding can say it. */
function times(f: Flow, l: Layout): { start: number; end: number } {
  const end = NOW - f.ago * 1000;
  if (l.time === 'seconds') return { start: Math.floor((end - f.duration) / 1000) * 1000, end: Math.floor(end / 1000) * 1000 };
  return { start: end - f.duration, end };
}

function record(f: Flow, l: Layout, ipfix: boolean): Buffer[] {
  const { start, end } = times(f, l);
  const octets = l.octetsLength === 4 ? u32(f.octets % 0x1_0000_0000) : u64(f.octets);
  const time = l.time === 'milliseconds' ? [u64(start), u64(end)] : l.time === 'seconds' ? [u32(start / 1000), u32(end / 1000)] : [u32(SYS_UPTIME - (NOW - start)), u32(SYS_UPTIME - (NOW - end))];
  return [
    address(f.source), address(f.destination), u16(f.sourcePort), u16(f.destinationPort), u8(f.protocol), u32(f.packets), octets, ...time,
    ...(l.nat ? [address(f.nat?.source ?? '0.0.0.0'), u16(f.nat?.port ?? 0)] : []),
    Buffer.from([1, 2, 3]),
    ...(ipfix && l.extras ? [u32(7), variable(Buffer.from(f.source.slice(0, 20)))] : []),
  ];
}

/** RFC 5952 text, and an IPv4-mapped address as the IPv4 address it carries (flow-record.ts). */
function text(a: string): string {
  const parsed = ipaddr.parse(a);
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address().toString() : parsed.toString();
}

function expected(f: Flow, l: Layout, exporter: string, domain: number): FlowRecord {
  const nat = l.nat ? { postNATSourceAddress: f.nat?.source ?? '0.0.0.0', postNAPTSourcePort: f.nat?.port ?? 0 } : {};
  return {
    exporter, domain, sourceAddress: text(f.source), destinationAddress: text(f.destination), sourcePort: f.sourcePort, destinationPort: f.destinationPort,
    protocol: f.protocol, packets: f.packets, octets: l.octetsLength === 4 ? f.octets % 0x1_0000_0000 : f.octets, ...times(f, l), ...nat,
  };
}

/** A datagram and, when it holds its own template, the records it must decode to. */
interface Built {
  readonly bytes: Buffer;
  readonly records?: readonly FlowRecord[];
}

const layout = (time: fc.Arbitrary<TimeEncoding>): fc.Arbitrary<Layout> =>
  fc.record({ family: fc.constantFrom<4 | 6>(4, 6), time, octetsLength: fc.constantFrom<4 | 8>(4, 8), nat: fc.boolean(), extras: fc.boolean() });

const templateId = fc.integer({ min: 256, max: 260 });
const domainId = fc.nat(2);

const builtIpfix: fc.Arbitrary<Built> = fc.oneof(
  // A whole message: template, then data records.
  fc.tuple(layout(fc.constantFrom('milliseconds', 'seconds')), templateId, domainId, fc.nat(), fc.boolean()).chain(([l, id, domain, sequence, options]) =>
    fc.array(flow(l.family), { minLength: 1, maxLength: 8 }).map((flows): Built => ({
      bytes: ipfixMessage({ exportTime: EXPORT_SECONDS, sequence, domain },
        templateSet({ id, fields: fields(l, true) }),
        ...(options ? [optionsTemplateSet({ id: id + 10, scope: 1, fields: [{ id: 149, length: 4 }, { id: 160, length: 8 }] }), dataSet(id + 10, [u32(domain), u64(NOW - 86_400_000)])] : []),
        dataSet(id, ...flows.map((f) => record(f, l, true)))),
      records: flows.map((f) => expected(f, l, '', domain)),
    }))),
  // Parts of a conversation: data before its template, templates alone, withdrawals.
  fc.tuple(layout(fc.constant('milliseconds')), templateId, domainId, fc.nat(), fc.array(flow(4), { maxLength: 4 })).map(([l, id, domain, sequence, flows]): Built => ({
    bytes: ipfixMessage({ exportTime: EXPORT_SECONDS, sequence, domain }, flows.length > 0 ? dataSet(id, ...flows.map((f) => record(f, { ...l, family: 4 }, true))) : templateSet({ id, fields: fields(l, true) })),
  })),
  fc.tuple(templateId, domainId).map(([id, domain]): Built => ({ bytes: ipfixMessage({ exportTime: EXPORT_SECONDS, domain }, withdrawalSet(2, id), ipfixSet(4, Buffer.alloc(8))) })),
);

const builtV9: fc.Arbitrary<Built> = fc.oneof(
  fc.tuple(layout(fc.constantFrom('milliseconds', 'seconds', 'sysuptime')), templateId, domainId, fc.nat(), fc.boolean()).chain(([l, id, domain, sequence, options]) =>
    fc.array(flow(l.family), { minLength: 1, maxLength: 8 }).map((flows): Built => ({
      bytes: v9Packet({ sysUptime: SYS_UPTIME, unixSecs: EXPORT_SECONDS, sequence, sourceId: domain },
        v9TemplateFlowSet({ id, fields: fields(l, false) }),
        ...(options ? [v9OptionsTemplateFlowSet(id + 10, [{ type: 1, length: 4 }], [{ id: 34, length: 4 }])] : []),
        v9DataFlowSet(id, ...flows.map((f) => record(f, l, false)))),
      records: flows.map((f) => expected(f, l, '', domain)),
    }))),
  fc.tuple(layout(fc.constant('sysuptime')), templateId, domainId, fc.nat(), fc.array(flow(4), { maxLength: 4 })).map(([l, id, domain, sequence, flows]): Built => ({
    bytes: v9Packet({ sysUptime: SYS_UPTIME, unixSecs: EXPORT_SECONDS, sequence, sourceId: domain }, flows.length > 0 ? v9DataFlowSet(id, ...flows.map((f) => record(f, { ...l, family: 4 }, false))) : v9TemplateFlowSet({ id, fields: fields(l, false) })),
  })),
);

const v5Flow = fc.record({ source: fc.ipV4(), destination: fc.ipV4(), sourcePort: fc.nat(65535), destinationPort: fc.nat(65535), protocol: fc.nat(255), packets: fc.nat({ max: 0xffffffff }), octets: fc.nat({ max: 0xffffffff }), first: fc.nat({ max: 0xffffffff }), last: fc.nat({ max: 0xffffffff }) });

const builtV5: fc.Arbitrary<Built> = fc.tuple(fc.array(v5Flow, { minLength: 1, maxLength: 30 }), fc.nat({ max: 0xffffffff }), fc.nat(999_999_999), fc.nat(), fc.nat(255), fc.nat(255)).map(([flows, sysUptime, nsecs, sequence, engineType, engineId]): Built => {
  const exportTime = EXPORT_SECONDS * 1000 + Math.floor(nsecs / 1e6);
  // Cisco's v5 header: First and Last are sysUpTime at the flow's first and last packet.
  const epoch = (uptime: number) => exportTime - ((sysUptime - uptime) | 0);
  const records: FlowRecord[] = flows.map((f) => ({
    exporter: '', domain: (engineType << 8) | engineId, sourceAddress: f.source, destinationAddress: f.destination, sourcePort: f.sourcePort, destinationPort: f.destinationPort,
    protocol: f.protocol, packets: f.packets, octets: f.octets, start: epoch(f.first), end: epoch(f.last),
  }));
  return { bytes: v5Packet({ sysUptime, unixSecs: EXPORT_SECONDS, unixNsecs: nsecs, flowSequence: sequence, engineType, engineId }, flows as V5Record[]), records };
});

/** Offsets of the length and count fields: header, each Set/FlowSet, each template record and field specifier. */
function flowHotSpots(bytes: Uint8Array): number[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) return [];
  const version = b.readUInt16BE(0);
  if (version === 5) return [2];
  const spots = [2];
  let at = version === 10 ? 16 : 20;
  while (at + 4 <= b.length) {
    const id = b.readUInt16BE(at);
    const length = b.readUInt16BE(at + 2);
    spots.push(at + 2);
    if (length < 4) break;
    const end = Math.min(b.length, at + length);
    if (id <= 3) {
      // Template records: ID, Field Count, then specifiers of ID and Length.
      for (let t = at + 4; t + 4 <= end; t += 4) spots.push(t + 2);
    } else {
      // Data: a variable-length prefix may be anywhere; some offsets inside are worth a try.
      for (let d = at + 4; d < end; d += 7) spots.push(d);
    }
    at += length;
  }
  return spots;
}

interface Datagram {
  readonly bytes: Buffer;
  readonly exporter: string;
  readonly step: number;
  readonly records?: readonly FlowRecord[];
}

const stream = (built: fc.Arbitrary<Built>, version: number): fc.Arbitrary<{ datagrams: Datagram[]; small: boolean }> => {
  const one: fc.Arbitrary<{ bytes: Buffer; records?: readonly FlowRecord[] }> = fc.oneof(
    { weight: 3, arbitrary: built },
    {
      weight: 6,
      // Half the time the IPFIX Length is made right again after the edits, so that they
      // are judged by the Sets they broke rather than by the header.
      arbitrary: fc.tuple(mutatedFrom(built, (b) => b.bytes, flowHotSpots), fc.boolean()).map(([bytes, fix]) => {
        if (fix && bytes.length >= 4 && bytes.length <= 0xffff && bytes.readUInt16BE(0) === 10) bytes.writeUInt16BE(bytes.length, 2);
        return { bytes };
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 14, maxLength: 600 }).map((rest) => ({ bytes: Buffer.concat([u16(version), Buffer.from(rest)]) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => ({ bytes: Buffer.from(b) })) },
  );
  const datagram = fc.record({ d: one, exporter: fc.constantFrom(...exporters), step: fc.oneof(fc.nat(2000), fc.constant(2 * 60 * 60_000)) })
    .map(({ d, exporter, step }): Datagram => ({ bytes: d.bytes, exporter, step, ...(d.records ? { records: d.records } : {}) }));
  return fc.record({ datagrams: fc.array(datagram, { minLength: 1, maxLength: 12 }), small: fc.boolean() });
};

function checkRecord(r: FlowRecord, exporter: string): void {
  assert.equal(r.exporter, exporter);
  assert.ok(isIP(r.sourceAddress) !== 0 && isIP(r.destinationAddress) !== 0, `addresses ${r.sourceAddress} ${r.destinationAddress}`);
  for (const a of [r.postNATSourceAddress, r.postNATDestinationAddress]) if (a !== undefined) assert.ok(isIP(a) !== 0, a);
  for (const p of [r.sourcePort, r.destinationPort, r.postNAPTSourcePort ?? 0, r.postNAPTDestinationPort ?? 0]) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535, `port ${p}`);
  assert.ok(Number.isInteger(r.protocol) && r.protocol >= 0 && r.protocol <= 255);
  for (const n of [r.packets, r.octets, r.start, r.end, r.domain]) assert.ok(Number.isFinite(n), `number ${n}`);
  assert.ok(r.packets >= 0 && r.octets >= 0);
}

function checkStream({ datagrams, small }: { datagrams: Datagram[]; small: boolean }, reached: Reached): void {
  const limits = small ? smallLimits : {};
  const decoder = new FlowDecoder(limits);
  const bounds = decoder.limits;
  let at = NOW;
  let fed = 0;
  let emitted = 0;
  for (const d of datagrams) {
    at += d.step;
    fed += d.bytes.length;
    const result = decoder.decode(d.bytes, d.exporter, at);
    // Never throws, and never fails on its own input: a decoder-fault is a bug it caught.
    assert.equal(result.dropped['decoder-fault'], undefined, 'decoder-fault');
    for (const cause of Object.keys(result.dropped)) {
      assert.ok(Object.hasOwn(dropCauses, cause), `unlisted cause ${cause}`);
      const n = result.dropped[cause as DropCause]!;
      assert.ok(Number.isInteger(n) && n > 0);
      reached.hit(`dropped ${cause}`);
    }
    for (const r of result.records) checkRecord(r, d.exporter);
    // Bounded: every record takes two addresses (8 octets at least) from some datagram.
    emitted += result.records.length;
    assert.ok(emitted * 8 <= fed, `${emitted} records from ${fed} octets`);
    if (result.records.length > 0) reached.hit('records');
    const s = decoder.stats();
    assert.ok(s.exporters <= bounds.maxExporters && s.domains <= bounds.maxExporters * bounds.maxDomainsPerExporter);
    assert.ok(s.templates <= bounds.maxTemplates && s.heldBytes <= bounds.maxHeldBytes && s.heldBytes >= 0 && s.heldSets >= 0);
    if (s.heldSets > 0) reached.hit('held');
  }
  // Everything is forgotten once it is old enough.
  decoder.expire(at + 24 * 60 * 60_000);
  const s = decoder.stats();
  assert.deepEqual([s.exporters, s.domains, s.templates, s.heldSets, s.heldBytes], [0, 0, 0, 0, 0]);

  // Round trip: a datagram built with its template, decoded alone, gives back its flows.
  for (const d of datagrams) {
    if (d.records === undefined) continue;
    const alone = new FlowDecoder().decode(d.bytes, d.exporter, NOW);
    assert.deepEqual(alone.records, d.records.map((r) => ({ ...r, exporter: d.exporter })));
    const drops = Object.keys(alone.dropped).filter((c) => !c.startsWith('sequence-gap'));
    assert.deepEqual(drops, [], `a built datagram dropped ${drops.join(', ')}`);
    reached.hit('round-tripped');
  }
}

function fuzzVersion(t: TestContext, built: fc.Arbitrary<Built>, version: number): void {
  const reached = new Reached();
  fuzzWithinBudget(t, stream(built, version), (s) => checkStream(s, reached));
  reached.diagnose(t);
}

describe('flow export fuzzing', () => {
  it('NetFlow v5: streams of built, edited and random packets', { timeout: fuzzTestTimeout }, (t) => fuzzVersion(t, builtV5, 5));
  it('NetFlow v9: streams of built, edited and random packets', { timeout: fuzzTestTimeout }, (t) => fuzzVersion(t, builtV9, 9));
  it('IPFIX: streams of built, edited and random messages', { timeout: fuzzTestTimeout }, (t) => fuzzVersion(t, builtIpfix, 10));
});
