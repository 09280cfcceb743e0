import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { dataSet, ipfixMessage, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { ipv4Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const NOW = 1_732_363_200_000;
const NAMED = '198.51.100.1';
const flooder = (i: number) => `203.0.113.${i}`;
const record = sampleRecord(sampleFlow());

/** One message with `count` one-field templates numbered from `first`. */
const templates = (first: number, count: number) => ipfixMessage({}, templateSet(...Array.from({ length: count }, (_, i) => ({ id: first + i, fields: [{ id: 4, length: 1 }] }))));
const flowTemplate = ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields }));
const flow = ipfixMessage({}, dataSet(256, record));

describe('tables shared by rank: named exporters, then range-admitted ones by age', () => {
  it('give a full template table\'s room to an older range exporter and to a named one, at the newest flooder\'s expense', () => {
    const decoder = new FlowDecoder({ maxTemplates: 40, maxTemplatesPerExporter: 10 });
    decoder.decode(flowTemplate, flooder(1), NOW, 'range');
    for (let i = 2; i <= 10; i++) decoder.decode(templates(300, 10), flooder(i), NOW, 'range');
    const full = decoder.stats();
    assert.equal(full.templates, 40);
    assert.ok((full.dropped['template-limit'] ?? 0) > 0, 'the newest flooders were refused');

    // flooder(1) came first: its new template displaces the newest holder's oldest.
    assert.deepEqual(decoder.decode(ipfixMessage({}, templateSet({ id: 257, fields: ipv4Fields })), flooder(1), NOW + 1, 'range').dropped, { 'template-displaced': 1 });
    // A new named exporter gets in the same way, and its flows decode at once.
    assert.deepEqual(decoder.decode(flowTemplate, NAMED, NOW + 2, 'named').dropped, { 'template-displaced': 1 });
    assert.equal(decoder.decode(flow, NAMED, NOW + 3, 'named').records.length, 1);
    // A newer flooder takes nothing from them.
    assert.deepEqual(decoder.decode(templates(400, 5), flooder(11), NOW + 4, 'range').dropped, { 'template-limit': 5 });
    assert.equal(decoder.decode(flow, flooder(1), NOW + 5, 'range').records.length, 1, 'the oldest template is still there');
    assert.equal(decoder.stats().templates, 40);
  });

  it('displace the newest range exporter for a new named one when maxExporters are known, and refuse a new range one', () => {
    const decoder = new FlowDecoder({ maxExporters: 20 });
    for (let i = 1; i <= 25; i++) decoder.decode(templates(300, 2), flooder(i), NOW, 'range');
    assert.equal(decoder.stats().dropped['exporter-limit'], 5);
    assert.deepEqual(decoder.decode(flowTemplate, NAMED, NOW + 1, 'named').dropped, { 'exporter-displaced': 1 });
    assert.equal(decoder.decode(flow, NAMED, NOW + 2, 'named').records.length, 1);
    assert.deepEqual(decoder.decode(flowTemplate, flooder(99), NOW + 3, 'range').dropped, { 'exporter-limit': 1 });
    // The one displaced was flooder(20), the newest; flooder(1) keeps its templates.
    assert.deepEqual(decoder.decode(ipfixMessage({}, dataSet(300, [Buffer.from([6])])), flooder(1), NOW + 4, 'range').dropped, { 'no-address': 1 });
    assert.deepEqual(decoder.decode(ipfixMessage({}, dataSet(300, [Buffer.from([6])])), flooder(20), NOW + 4, 'range').dropped, { 'exporter-limit': 1 });
  });

  it('keep held Data Sets by rank too, and bound the sets each exporter may hold', () => {
    const decoder = new FlowDecoder({ maxHeldBytes: 4096, maxHeldSetsPerExporter: 8 });
    const early = (templateId: number) => ipfixMessage({}, dataSet(templateId, record));
    for (let i = 1; i <= 20; i++) for (let t = 0; t < 10; t++) decoder.decode(early(300 + t), flooder(i), NOW, 'range');
    const stats = decoder.stats();
    assert.ok(stats.heldBytes <= 4096 && stats.heldSets < 200, JSON.stringify(stats));
    assert.ok((stats.dropped['no-template-overflow'] ?? 0) >= 20 * 2, 'each flooder past its 8 sets, and the newest past the hold');
    // The named exporter's data before its template is held, at a flooder's expense, and read when the template comes.
    assert.deepEqual(decoder.decode(flow, NAMED, NOW + 1, 'named').dropped, { 'held-set-displaced': 1 });
    assert.equal(decoder.decode(flowTemplate, NAMED, NOW + 2, 'named').records.length, 1);
  });
});
