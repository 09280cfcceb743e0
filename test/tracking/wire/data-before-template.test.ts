import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { address, u16, u32, u8 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { v9DataFlowSet, v9Packet, v9TemplateFlowSet } from '../../fixtures/flows/netflow-v9-builder.ts';
import { expectedRecord, ipv4Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;

describe('Data Sets that arrive before their template', () => {
  it('are held, then decoded with the template when it arrives (IPFIX)', () => {
    const decoder = new FlowDecoder({ holdTime: 5000 });
    const flows = [sampleFlow(), sampleFlow({ destination: '203.0.113.5' })];
    const early = decoder.decode(ipfixMessage({ domain: 3 }, dataSet(256, sampleRecord(flows[0]!)), dataSet(256, sampleRecord(flows[1]!))), EXPORTER, NOW);
    assert.deepEqual(early, { records: [], dropped: {} });
    assert.equal(decoder.stats().heldSets, 2);
    const late = decoder.decode(ipfixMessage({ domain: 3 }, templateSet({ id: 256, fields: ipv4Fields })), EXPORTER, NOW + 4000);
    assert.deepEqual(late.records, flows.map((f) => expectedRecord(f, EXPORTER, 3)));
    assert.deepEqual(decoder.stats().heldSets, 0);
    assert.deepEqual(decoder.stats().heldBytes, 0);
  });

  it('are decoded when the template comes later in the same message', () => {
    const decoder = new FlowDecoder();
    const { records } = decoder.decode(ipfixMessage({}, dataSet(256, sampleRecord(sampleFlow())), templateSet({ id: 256, fields: ipv4Fields })), EXPORTER, NOW);
    assert.equal(records.length, 1);
  });

  it('are held for NetFlow v9 too, with the header times of the packet that carried them', () => {
    const decoder = new FlowDecoder();
    const fields = [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 4, length: 1 }, { id: 22, length: 4 }, { id: 21, length: 4 }];
    decoder.decode(v9Packet({ sysUptime: 10_000, unixSecs: NOW / 1000 }, v9DataFlowSet(256, [address('192.0.2.10'), address('198.51.100.7'), u8(17), u32(9000), u32(9500)])), EXPORTER, NOW);
    const { records } = decoder.decode(v9Packet({ sysUptime: 12_000, unixSecs: NOW / 1000 + 2 }, v9TemplateFlowSet({ id: 256, fields })), EXPORTER, NOW + 2000);
    assert.deepEqual([records[0]?.start, records[0]?.end], [NOW - 1000, NOW - 500]);
  });

  it('are counted lost when their template has not come within holdTime', () => {
    const decoder = new FlowDecoder({ holdTime: 5000 });
    decoder.decode(ipfixMessage({}, dataSet(256, sampleRecord(sampleFlow()))), EXPORTER, NOW);
    decoder.decode(ipfixMessage({}, dataSet(257, sampleRecord(sampleFlow()))), EXPORTER, NOW + 3000);
    assert.deepEqual(decoder.expire(NOW + 5001), { 'no-template-expired': 1 });
    assert.equal(decoder.stats().heldSets, 1);
    const { records, dropped } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields }, { id: 257, fields: ipv4Fields })), EXPORTER, NOW + 8001);
    assert.deepEqual(dropped, { 'no-template-expired': 1 }, 'expired on the next datagram from the exporter, before the template');
    assert.equal(records.length, 0);
    assert.deepEqual(decoder.stats().dropped, { 'no-template-expired': 2 });
  });

  it('are counted lost when the exporter has used its share of the hold', () => {
    const decoder = new FlowDecoder({ maxHeldBytesPerExporter: 1000 });
    const set = dataSet(256, ...Array.from({ length: 8 }, () => sampleRecord(sampleFlow())));
    const results = [0, 1, 2].map(() => decoder.decode(ipfixMessage({}, set), EXPORTER, NOW).dropped);
    assert.deepEqual(results, [{}, {}, { 'no-template-overflow': 1 }]);
    assert.deepEqual(decoder.decode(ipfixMessage({}, set), '198.51.100.2', NOW).dropped, {}, 'another exporter has its own share');
    assert.ok(decoder.stats().heldBytes <= 2000);
  });

  it('stay within maxHeldBytes across all exporters', () => {
    const decoder = new FlowDecoder({ maxHeldBytes: 4096 });
    for (let i = 0; i < 100; i++) decoder.decode(ipfixMessage({}, dataSet(256, [u16(i), Buffer.alloc(500)])), `198.51.100.${i}`, NOW);
    assert.ok(decoder.stats().heldBytes <= 4096);
    assert.equal(decoder.stats().dropped['no-template-overflow'], 100 - decoder.stats().heldSets);
  });
});
