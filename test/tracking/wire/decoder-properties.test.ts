import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { address, u16, u32, u64, variable } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, ipfixSet, optionsTemplateSet, templateSet, withdrawalSet, type FieldSpec } from '../../fixtures/flows/ipfix-message-builder.ts';
import { v5Packet } from '../../fixtures/flows/netflow-v5-builder.ts';
import { v9DataFlowSet, v9FlowSet, v9OptionsTemplateFlowSet, v9Packet, v9TemplateFlowSet } from '../../fixtures/flows/netflow-v9-builder.ts';
import { ipv4Fields, ipv6Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const NOW = 1_732_363_200_000;

const smallLimits = { maxExporters: 4, maxDomainsPerExporter: 3, maxTemplatesPerDomain: 5, maxTemplatesPerExporter: 8, maxTemplates: 20, maxFieldsPerTemplate: 16, maxHeldBytesPerExporter: 2048, maxHeldBytes: 4096 };

/** Decodes and checks the promise every caller relies on: no throw, no fault, a well-formed result. */
function decodeSafely(decoder: FlowDecoder, datagram: Buffer, exporter = '198.51.100.1', at = NOW): void {
  const result = decoder.decode(datagram, exporter, at);
  assert.equal(result.dropped['decoder-fault'], undefined);
  // The record loops read without Buffer's bounds checks (big-endian.ts): a read that
  // starts past the bytes would come out as NaN or a missing address here, not as a thrown
  // RangeError (one that only ends past them reads zeros, which the wire tests' exact
  // values catch instead).
  for (const r of result.records) {
    assert.ok(typeof r.sourceAddress === 'string' && typeof r.destinationAddress === 'string', 'both addresses');
    for (const n of [r.start, r.end, r.octets, r.packets, r.sourcePort, r.destinationPort, r.protocol]) assert.ok(Number.isFinite(n) && n >= 0, `finite, not negative: ${n}`);
  }
}

function assertWithinLimits(decoder: FlowDecoder): void {
  const s = decoder.stats();
  assert.ok(s.exporters <= smallLimits.maxExporters, `exporters ${s.exporters}`);
  assert.ok(s.domains <= smallLimits.maxExporters * smallLimits.maxDomainsPerExporter, `domains ${s.domains}`);
  assert.ok(s.templates <= smallLimits.maxTemplates, `templates ${s.templates}`);
  assert.ok(s.heldBytes <= smallLimits.maxHeldBytes, `held ${s.heldBytes}`);
  assert.ok(s.heldBytes >= 0 && s.heldSets >= 0);
}

/** Valid datagrams of every kind the decoder reads, to mutate. */
const seeds: Buffer[] = [
  ipfixMessage({ sequence: 7, domain: 1 },
    templateSet({ id: 256, fields: ipv4Fields }, { id: 257, fields: [{ id: 8, length: 4 }, { id: 82, length: 65535 }, { id: 12, length: 4 }, { id: 1, length: 4, enterprise: 9 }] }),
    optionsTemplateSet({ id: 258, scope: 1, fields: [{ id: 149, length: 4 }, { id: 160, length: 8 }] }),
    dataSet(256, sampleRecord(sampleFlow())),
    dataSet(257, [address('192.0.2.10'), variable(Buffer.from('eth0')), address('198.51.100.7'), u32(1)], [address('192.0.2.10'), variable(Buffer.alloc(300), true), address('203.0.113.5'), u32(2)]),
    dataSet(258, [u32(1), u64(NOW)]),
    withdrawalSet(2, 257)),
  ipfixMessage({}, templateSet({ id: 300, fields: ipv6Fields }), dataSet(300, sampleRecord(sampleFlow({ source: '2001:db8::10', destination: '2001:db8:1::5' })))),
  v9Packet({ sequence: 3 },
    v9TemplateFlowSet({ id: 256, fields: ipv4Fields.map((f) => ({ ...f })) }),
    v9OptionsTemplateFlowSet(257, [{ type: 2, length: 4 }], [{ id: 34, length: 4 }]),
    v9DataFlowSet(256, sampleRecord(sampleFlow())),
    v9FlowSet(257, Buffer.concat([u32(1), u32(1)]))),
  v5Packet({}, [{ source: '192.0.2.10', destination: '198.51.100.7' }, { source: '192.0.2.10', destination: '203.0.113.5' }]),
];

interface Mutation {
  readonly kind: 'flip' | 'cut' | 'insert';
  readonly at: number;
  readonly value?: number;
  readonly bytes?: Uint8Array;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 12 }) }),
);

function mutate(seed: Buffer, steps: readonly Mutation[]): Buffer {
  let out = Buffer.from(seed);
  for (const step of steps) {
    const at = out.length === 0 ? 0 : step.at % out.length;
    if (step.kind === 'flip') out[at] = step.value ?? 0;
    else if (step.kind === 'cut') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(step.bytes ?? []), out.subarray(at)]);
  }
  return out;
}

// Mostly the lengths each element should have, so that templates install and records
// are read; sometimes lengths that are wrong, absurd or variable, and enterprise fields.
const fieldSpec: fc.Arbitrary<FieldSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<FieldSpec>({ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 27, length: 16 }, { id: 28, length: 16 }, { id: 7, length: 2 }, { id: 11, length: 1 }, { id: 4, length: 1 }, { id: 1, length: 3 }, { id: 2, length: 8 }, { id: 152, length: 8 }, { id: 150, length: 4 }, { id: 154, length: 8 }, { id: 22, length: 4 }, { id: 158, length: 4 }, { id: 160, length: 8 }, { id: 225, length: 4 }, { id: 281, length: 16 }, { id: 82, length: 65535 }, { id: 999, length: 5 }) },
  { weight: 1, arbitrary: fc.record({ id: fc.nat(0x7fff), length: fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 255, 4000, 65535) }) },
  { weight: 1, arbitrary: fc.record({ id: fc.nat(0x7fff), length: fc.constantFrom(1, 4, 65535), enterprise: fc.nat() }) },
);

// Half the templates describe flows (both addresses first), so that records come out.
const templateFields = fc.oneof(
  fc.array(fieldSpec, { maxLength: 20 }),
  fc.array(fieldSpec, { maxLength: 6 }).map((extra) => [{ id: 8, length: 4 }, { id: 12, length: 4 }, ...extra]),
);

/** IPFIX messages built from plausible parts, so that decoding reaches past the headers. */
const structuredIpfix = fc.array(
  fc.oneof(
    fc.array(fc.record({ id: fc.integer({ min: 254, max: 259 }), fields: templateFields }), { minLength: 1, maxLength: 4 }).map((ts) => templateSet(...ts)),
    fc.record({ id: fc.integer({ min: 256, max: 262 }), scope: fc.nat(3), fields: fc.array(fieldSpec, { minLength: 1, maxLength: 6 }) }).map((t) => optionsTemplateSet(t)),
    fc.record({ id: fc.integer({ min: 256, max: 259 }), body: fc.uint8Array({ minLength: 40, maxLength: 400 }) }).map(({ id, body }) => dataSet(id, [Buffer.from(body)])),
    fc.array(fc.integer({ min: 0, max: 262 }), { maxLength: 3 }).map((ids) => withdrawalSet(2, ...ids)),
    fc.record({ id: fc.integer({ min: 0, max: 300 }), body: fc.uint8Array({ maxLength: 40 }) }).map(({ id, body }) => ipfixSet(id, Buffer.from(body))),
  ),
  { maxLength: 6 },
).chain((sets) => fc.record({ sequence: fc.nat(), domain: fc.nat(2) }).map((h) => ipfixMessage(h, ...sets)));

const exporterAddress = fc.oneof({ weight: 4, arbitrary: fc.constant('198.51.100.1') }, { weight: 1, arbitrary: fc.constantFrom('198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5', '198.51.100.6') });

describe('decoder properties', () => {
  it('never throws on arbitrary bytes', () => {
    const decoder = new FlowDecoder(smallLimits);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), (bytes) => decodeSafely(decoder, Buffer.from(bytes))), { numRuns: 2000 });
  });

  it('never throws on arbitrary bytes behind a valid version and IPFIX Length', () => {
    const decoder = new FlowDecoder(smallLimits);
    fc.assert(fc.property(fc.constantFrom(5, 9, 10), fc.uint8Array({ minLength: 14, maxLength: 1500 }), (version, rest) => {
      const datagram = Buffer.concat([u16(version), Buffer.from(rest)]);
      if (version === 10) datagram.writeUInt16BE(datagram.length, 2);
      decodeSafely(decoder, datagram);
    }), { numRuns: 2000 });
  });

  it('never throws on mutated valid datagrams of each version', () => {
    fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), (seed, steps, fixLength) => {
      const decoder = new FlowDecoder(smallLimits);
      decodeSafely(decoder, seeds[0]!);
      const datagram = mutate(seed, steps);
      if (fixLength && datagram.length >= 4 && datagram.readUInt16BE(0) === 10) datagram.writeUInt16BE(datagram.length, 2);
      decodeSafely(decoder, datagram);
      assertWithinLimits(decoder);
    }), { numRuns: 3000 });
  });

  it('keeps every state size within its limit under streams of generated messages', () => {
    const reached = { records: 0, heldSets: 0, templates: 0 };
    fc.assert(fc.property(fc.array(fc.tuple(structuredIpfix, exporterAddress, fc.nat(20_000)), { minLength: 1, maxLength: 40 }), (stream) => {
      const decoder = new FlowDecoder(smallLimits);
      let at = NOW;
      for (const [datagram, exporter, step] of stream) {
        decodeSafely(decoder, datagram, exporter, (at += step));
        assertWithinLimits(decoder);
        reached.heldSets += decoder.stats().heldSets;
        reached.templates += decoder.stats().templates;
      }
      reached.records += decoder.stats().records;
      decoder.expire(at + 10 * 60 * 60_000);
      const s = decoder.stats();
      assert.deepEqual([s.exporters, s.domains, s.templates, s.heldSets, s.heldBytes], [0, 0, 0, 0, 0]);
    }), { numRuns: 500 });
    // The generator is only worth its runs if decoding got past the headers.
    assert.ok(reached.records > 100 && reached.heldSets > 100 && reached.templates > 100, JSON.stringify(reached));
  });
});
