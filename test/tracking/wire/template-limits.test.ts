import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { dataSet, ipfixMessage, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { v9Packet, v9TemplateFlowSet } from '../../fixtures/flows/netflow-v9-builder.ts';
import { ipv4Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const VICTIM = '198.51.100.1';
const FLOODER = '198.51.100.66';
const NOW = 1_732_363_200_000;
const record = sampleRecord(sampleFlow());

/** One message with `count` templates numbered from `first`, each a single 1-octet field. */
const flood = (first: number, count: number) => ipfixMessage({}, templateSet(...Array.from({ length: count }, (_, i) => ({ id: first + i, fields: [{ id: 4, length: 1 }] }))));

describe('template limits', () => {
  it("keep a flood from one exporter from evicting another exporter's templates", () => {
    const decoder = new FlowDecoder({ maxTemplatesPerDomain: 100, maxTemplatesPerExporter: 150, maxTemplates: 200 });
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields })), VICTIM, NOW);
    for (let round = 0; round < 20; round++) {
      for (let domain = 0; domain < 4; domain++) decoder.decode(Buffer.from(flood(256 + round * 1000, 1000).fill(0, 12, 15).fill(domain, 15, 16)), FLOODER, NOW + round);
    }
    const stats = decoder.stats();
    assert.equal(stats.templates, 151, 'the flooder holds its quota of 150, the victim its one');
    assert.ok((stats.dropped['template-evicted'] ?? 0) > 70_000);
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(256, record)), VICTIM, NOW + 100).records.length, 1);
  });

  it('refuse new templates once maxTemplates are held, and still accept refreshes', () => {
    const decoder = new FlowDecoder({ maxTemplates: 10 });
    for (let e = 0; e < 5; e++) decoder.decode(flood(256, 4), `198.51.100.${e}`, NOW);
    const stats = decoder.stats();
    assert.equal(stats.templates, 10);
    assert.equal(stats.dropped['template-limit'], 10);
    assert.deepEqual(decoder.decode(flood(256, 2), '198.51.100.0', NOW + 1).dropped, {}, 'a refresh takes no new room');
  });

  it('evict the least recently refreshed template of a domain at its quota', () => {
    const decoder = new FlowDecoder({ maxTemplatesPerDomain: 2, holdTime: 1 });
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields }, { id: 257, fields: ipv4Fields })), VICTIM, NOW);
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields })), VICTIM, NOW + 1);
    assert.deepEqual(decoder.decode(ipfixMessage({}, templateSet({ id: 258, fields: ipv4Fields })), VICTIM, NOW + 2).dropped, { 'template-evicted': 1 });
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(256, record)), VICTIM, NOW + 3).records.length, 1);
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(257, record)), VICTIM, NOW + 3).records.length, 0);
  });

  it('bound exporters and domains, whatever addresses the datagrams claim', () => {
    const decoder = new FlowDecoder({ maxExporters: 50, maxDomainsPerExporter: 3 });
    for (let i = 0; i < 500; i++) decoder.decode(v9Packet({ sourceId: i }, v9TemplateFlowSet({ id: 256, fields: ipv4Fields })), `192.0.2.${i % 100}`, NOW);
    const stats = decoder.stats();
    assert.equal(stats.exporters, 50);
    assert.equal(stats.domains, 150);
    assert.equal(stats.templates, 150);
    assert.equal((stats.dropped['exporter-limit'] ?? 0) + (stats.dropped['domain-limit'] ?? 0), 350);
  });

  it('discard templates not refreshed within templateLifetime (RFC 7011 §8.4), then forget idle exporters', () => {
    const decoder = new FlowDecoder({ templateLifetime: 60_000, holdTime: 1 });
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields })), VICTIM, NOW);
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(256, record)), VICTIM, NOW + 60_000).records.length, 1);
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(256, record)), VICTIM, NOW + 60_001).records.length, 0, 'past its lifetime even before expire() runs');
    decoder.expire(NOW + 60_002);
    assert.equal(decoder.stats().templates, 0);
    assert.equal(decoder.stats().exporters, 1, 'the exporter was heard from within the lifetime');
    decoder.expire(NOW + 200_000);
    assert.deepEqual([decoder.stats().exporters, decoder.stats().domains], [0, 0]);
  });

  it('refuse limits that are not positive whole numbers, naming the setting', () => {
    assert.throws(() => new FlowDecoder({ holdTime: -1 }), { code: 'CONFIG_INVALID', param: 'holdTime' });
    assert.throws(() => new FlowDecoder({ maxTemplates: 1.5 }), { code: 'CONFIG_INVALID', param: 'maxTemplates' });
    assert.throws(() => new FlowDecoder({ maxFieldLength: 65535 }), { code: 'CONFIG_INVALID', param: 'maxFieldLength' });
    assert.throws(() => new FlowDecoder({ holdtime: 5 } as never), { code: 'CONFIG_INVALID', param: 'holdtime' });
    assert.equal(new FlowDecoder().limits.holdTime, 5000);
  });
});
