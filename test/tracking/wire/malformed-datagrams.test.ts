import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DropCause, DropCounts } from '../../../src/tracking/wire/drop-cause.ts';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { address, u16, u32 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, ipfixSet, optionsTemplateSet, templateSet, withdrawalSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { v5Packet } from '../../fixtures/flows/netflow-v5-builder.ts';
import { v9FlowSet, v9Packet, v9TemplateFlowSet } from '../../fixtures/flows/netflow-v9-builder.ts';
import { ipv4Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;
const record = sampleRecord(sampleFlow());
const template = templateSet({ id: 256, fields: ipv4Fields });

const decode = (datagram: Buffer, decoder = new FlowDecoder()): DropCounts => decoder.decode(datagram, EXPORTER, NOW).dropped;

/** Each cause, brought about by hand-written bytes; a cause without a case fails to compile. */
const causes: Record<DropCause, () => DropCounts> = {
  'truncated': () => decode(ipfixMessage({}, template).subarray(0, 30)),
  'unknown-version': () => decode(Buffer.from([0, 7, 0, 0, 0, 0, 0, 0])),
  'message-length': () => decode(Buffer.concat([ipfixMessage({}, template), Buffer.alloc(4)])),
  'record-count': () => decode(v5Packet({}, [], 0)),
  'exporter-limit': () => {
    const decoder = new FlowDecoder({ maxExporters: 1 });
    decoder.decode(ipfixMessage({}), '198.51.100.2', NOW);
    return decode(ipfixMessage({}), decoder);
  },
  'domain-limit': () => {
    const decoder = new FlowDecoder({ maxDomainsPerExporter: 1 });
    decode(ipfixMessage({ domain: 1 }), decoder);
    return decode(ipfixMessage({ domain: 2 }), decoder);
  },
  'set-length': () => decode(ipfixMessage({}, Buffer.concat([u16(256), u16(2)]))),
  'set-id-reserved': () => decode(ipfixMessage({}, ipfixSet(4, Buffer.alloc(4)))),
  'template-invalid': () => decode(ipfixMessage({}, templateSet({ id: 256, fields: [{ id: 8, length: 0 }] }))),
  'template-limit': () => {
    const decoder = new FlowDecoder({ maxTemplates: 1 });
    decoder.decode(ipfixMessage({}, template), '198.51.100.2', NOW);
    return decode(ipfixMessage({}, template), decoder);
  },
  'template-evicted': () => decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields }, { id: 257, fields: ipv4Fields })), new FlowDecoder({ maxTemplatesPerDomain: 1 })),
  'template-displaced': () => {
    const decoder = new FlowDecoder({ maxTemplates: 1 });
    decoder.decode(ipfixMessage({}, template), '198.51.100.2', NOW, 'range');
    return decode(ipfixMessage({}, template), decoder);
  },
  'exporter-displaced': () => {
    const decoder = new FlowDecoder({ maxExporters: 1 });
    decoder.decode(ipfixMessage({}), '198.51.100.2', NOW, 'range');
    return decode(ipfixMessage({}), decoder);
  },
  'held-set-displaced': () => {
    const decoder = new FlowDecoder({ maxHeldBytes: 150 });
    decoder.decode(ipfixMessage({}, dataSet(256, record)), '198.51.100.2', NOW, 'range');
    return decode(ipfixMessage({}, dataSet(256, record)), decoder);
  },
  'no-template-overflow': () => decode(ipfixMessage({}, dataSet(256, record)), new FlowDecoder({ maxHeldBytesPerExporter: 10 })),
  'no-template-expired': () => {
    const decoder = new FlowDecoder({ holdTime: 10 });
    decoder.decode(ipfixMessage({}, dataSet(256, record)), EXPORTER, NOW - 11);
    return decode(ipfixMessage({}), decoder);
  },
  'record-invalid': () => decode(ipfixMessage({}, templateSet({ id: 256, fields: [{ id: 8, length: 4 }, { id: 82, length: 65535 }] }), dataSet(256, [address('192.0.2.10'), Buffer.from([40, 0x61])]))),
  'no-address': () => decode(ipfixMessage({}, templateSet({ id: 256, fields: [{ id: 1, length: 4 }] }), dataSet(256, [u32(100)]))),
  'sequence-gap-records': () => {
    const decoder = new FlowDecoder();
    decode(ipfixMessage({ sequence: 0 }, template, dataSet(256, record)), decoder);
    decode(ipfixMessage({ sequence: 1 }, dataSet(256, record)), decoder);
    decode(ipfixMessage({ sequence: 5 }, dataSet(256, record)), decoder);
    return decode(ipfixMessage({ sequence: 6 }, dataSet(256, record)), decoder);
  },
  'sequence-gap-packets': () => {
    const decoder = new FlowDecoder();
    decode(v9Packet({ sequence: 1 }), decoder);
    decode(v9Packet({ sequence: 2 }), decoder);
    decode(v9Packet({ sequence: 4 }), decoder);
    return decode(v9Packet({ sequence: 5 }), decoder);
  },
  'decoder-fault': () => {
    const sabotaged = ipfixMessage({}, template);
    sabotaged.readUInt32BE = () => {
      throw new RangeError('sabotaged');
    };
    return decode(sabotaged);
  },
};

describe('malformed datagrams', () => {
  for (const [cause, provoke] of Object.entries(causes)) {
    it(`are counted as ${cause}`, () => {
      assert.ok((provoke()[cause as DropCause] ?? 0) >= 1);
    });
  }

  it('are truncated when shorter than any header or than the IPFIX Length', () => {
    for (const datagram of [Buffer.alloc(0), Buffer.from([0]), ipfixMessage({}).subarray(0, 15), v9Packet({}).subarray(0, 19), Buffer.concat([u16(10), u16(100), Buffer.alloc(20)])]) {
      assert.deepEqual(decode(datagram), { truncated: 1 });
    }
  });

  it('drop the rest of the message at a Set Length below 4 or past the end', () => {
    const pastEnd = Buffer.concat([u16(256), u16(400), Buffer.alloc(8)]);
    assert.deepEqual(decode(ipfixMessage({}, template, pastEnd)), { 'set-length': 1 });
    const loop = Buffer.concat([u16(256), u16(0)]);
    assert.deepEqual(decode(v9Packet({}, loop, v9TemplateFlowSet({ id: 256, fields: ipv4Fields }))), { 'set-length': 1 });
    assert.deepEqual(decode(v9Packet({}, v9FlowSet(2, Buffer.alloc(4)))), { 'set-id-reserved': 1 });
  });

  it('refuse templates with zero, absurd or ill-fitting field lengths, too many fields, or reserved IDs', () => {
    const decoder = new FlowDecoder({ maxFieldsPerTemplate: 8, maxFieldLength: 1024 });
    const bad = [
      { id: 256, fields: [{ id: 8, length: 4 }, { id: 82, length: 0 }] },
      { id: 257, fields: [{ id: 8, length: 4 }, { id: 82, length: 1025 }] },
      { id: 258, fields: [{ id: 8, length: 16 }] },
      { id: 259, fields: [{ id: 4, length: 2 }] },
      { id: 260, fields: [{ id: 152, length: 4 }] },
      { id: 261, fields: [{ id: 27, length: 65535 }] },
      { id: 262, fields: Array(9).fill({ id: 82, length: 1 }) },
      { id: 100, fields: [{ id: 8, length: 4 }] },
    ];
    assert.deepEqual(decode(ipfixMessage({}, templateSet(...bad), withdrawalSet(2, 5)), decoder), { 'template-invalid': bad.length + 1 });
    const noScope = optionsTemplateSet({ id: 300, scope: 0, fields: [{ id: 160, length: 8 }] });
    const scopeBeyondFields = optionsTemplateSet({ id: 301, scope: 3, fields: [{ id: 149, length: 4 }, { id: 160, length: 8 }] });
    assert.deepEqual(decode(ipfixMessage({}, noScope, scopeBeyondFields), decoder), { 'template-invalid': 2 });
    assert.equal(decoder.stats().templates, 0);
  });

  it('stop reading a Template Set at a record that runs past its end', () => {
    const cut = ipfixSet(2, Buffer.concat([u16(256), u16(10), u16(8), u16(4)]));
    const enterpriseCut = ipfixSet(2, Buffer.concat([u16(257), u16(1), u16(0x8001), u16(4), u16(0)]));
    const optionsCut = ipfixSet(3, Buffer.concat([u16(258), u16(1)]));
    assert.deepEqual(decode(ipfixMessage({}, cut, enterpriseCut, optionsCut, template)), { 'template-invalid': 3 });
  });

  it('drop the rest of a Data Set when a variable-length field overruns it', () => {
    const decoder = new FlowDecoder();
    const fields = [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 82, length: 65535 }];
    const good = [address('192.0.2.10'), address('198.51.100.7'), Buffer.from([1, 0x61])];
    const longForm = [address('192.0.2.10'), address('198.51.100.7'), Buffer.from([255, 0])];
    const { records, dropped } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields }), dataSet(256, good, longForm)), EXPORTER, NOW);
    assert.equal(records.length, 1);
    assert.deepEqual(dropped, { 'record-invalid': 1 });
  });
});
