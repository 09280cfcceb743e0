import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { address, u16, u32, u64, u8, variable } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, optionsTemplateSet, templateSet, withdrawalSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { expectedRecord, ipv4Fields, ipv6Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;

describe('IPFIX templates', () => {
  it('decodes a Data Set with the template sent before it in the same message', () => {
    const decoder = new FlowDecoder();
    const flow = sampleFlow();
    const { records, dropped } = decoder.decode(ipfixMessage({ domain: 7 }, templateSet({ id: 256, fields: ipv4Fields }), dataSet(256, sampleRecord(flow))), EXPORTER, NOW);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records, [expectedRecord(flow, EXPORTER, 7)]);
  });

  it('keeps templates until later messages use them, and decodes IPv6 flows', () => {
    const decoder = new FlowDecoder();
    decoder.decode(ipfixMessage({}, templateSet({ id: 300, fields: ipv6Fields })), EXPORTER, NOW);
    const flows = [sampleFlow({ source: '2001:db8::10', destination: '2001:db8:1::5' }), sampleFlow({ source: '2001:db8::10', destination: '2001:db8:0:0:1::1', destinationPort: 53, protocol: 17 })];
    const { records } = decoder.decode(ipfixMessage({}, dataSet(300, ...flows.map(sampleRecord))), EXPORTER, NOW + 1000);
    // RFC 5952 §4.2.3: of two equally long runs of zero groups, the first is shortened.
    const canonical = [flows[0]!, { ...flows[1]!, destination: '2001:db8::1:0:0:1' }];
    assert.deepEqual(records, canonical.map((f) => expectedRecord(f, EXPORTER, 0)));
  });

  it('scopes templates to exporter and observation domain (RFC 7011 §8)', () => {
    const decoder = new FlowDecoder({ holdTime: 1 });
    decoder.decode(ipfixMessage({ domain: 1 }, templateSet({ id: 256, fields: ipv4Fields })), EXPORTER, NOW);
    const data = (domain: number) => ipfixMessage({ domain }, dataSet(256, sampleRecord(sampleFlow())));
    assert.equal(decoder.decode(data(1), EXPORTER, NOW).records.length, 1);
    assert.equal(decoder.decode(data(2), EXPORTER, NOW).records.length, 0);
    assert.equal(decoder.decode(data(1), '198.51.100.2', NOW).records.length, 0);
    assert.equal(decoder.stats().heldSets, 2);
  });

  it('replaces a template refreshed with the same ID and a new layout', () => {
    const decoder = new FlowDecoder();
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields })), EXPORTER, NOW);
    const swapped = [{ id: 12, length: 4 }, { id: 8, length: 4 }];
    const { records } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: swapped }), dataSet(256, [address('203.0.113.5'), address('192.0.2.10')])), EXPORTER, NOW);
    assert.equal(records[0]?.sourceAddress, '192.0.2.10');
    assert.equal(records[0]?.destinationAddress, '203.0.113.5');
    assert.equal(decoder.stats().templates, 1);
  });

  it('withdraws one template, then all templates, with Field Count 0 (RFC 7011 §8.1)', () => {
    const decoder = new FlowDecoder({ holdTime: 1 });
    const fields = ipv4Fields;
    decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields }, { id: 257, fields }, { id: 258, fields }), optionsTemplateSet({ id: 400, scope: 1, fields: [{ id: 149, length: 4 }, { id: 160, length: 8 }] })), EXPORTER, NOW);
    assert.equal(decoder.stats().templates, 4);
    decoder.decode(ipfixMessage({}, withdrawalSet(2, 257)), EXPORTER, NOW);
    assert.equal(decoder.stats().templates, 3);
    assert.equal(decoder.decode(ipfixMessage({}, dataSet(257, sampleRecord(sampleFlow()))), EXPORTER, NOW).records.length, 0);
    decoder.decode(ipfixMessage({}, withdrawalSet(2, 2)), EXPORTER, NOW);
    assert.equal(decoder.stats().templates, 1, 'the options template stays');
    decoder.decode(ipfixMessage({}, withdrawalSet(3, 3)), EXPORTER, NOW);
    assert.equal(decoder.stats().templates, 0);
  });

  it('skips enterprise-specific fields by their length', () => {
    const decoder = new FlowDecoder();
    const fields = [{ id: 8, length: 4 }, { id: 1, length: 4, enterprise: 9 }, { id: 12, length: 4 }, { id: 100, length: 2, enterprise: 29305 }, { id: 7, length: 2 }];
    const { records } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields }), dataSet(256, [address('192.0.2.10'), u32(999), address('198.51.100.7'), u16(7), u16(40000)])), EXPORTER, NOW);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.octets, 0, 'enterprise field 1 is not octetDeltaCount');
    assert.equal(records[0]?.sourcePort, 40000);
  });

  it('reads records with variable-length fields in 1- and 3-octet length forms (RFC 7011 §7)', () => {
    const decoder = new FlowDecoder();
    const fields = [{ id: 8, length: 4 }, { id: 82, length: 65535 }, { id: 12, length: 4 }, { id: 96, length: 65535 }, { id: 11, length: 2 }];
    const record = (name: string, long: boolean, port: number) => [address('192.0.2.10'), variable(Buffer.from(name)), address('198.51.100.7'), variable(Buffer.alloc(long ? 300 : 3, 0x41), long), u16(port)];
    const { records, dropped } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields }), dataSet(256, record('eth0', false, 80), record('', true, 443), record('x', false, 53))), EXPORTER, NOW);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records.map((r) => r.destinationPort), [80, 443, 53]);
  });

  it('keeps options templates, reads systemInitTimeMilliseconds and places sysUpTime flows by it', () => {
    const decoder = new FlowDecoder();
    const init = NOW - 3_600_000;
    const options = optionsTemplateSet({ id: 256, scope: 1, fields: [{ id: 143, length: 4 }, { id: 160, length: 8 }, { id: 82, length: 65535 }] });
    const flowTemplate = templateSet({ id: 257, fields: [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 22, length: 4 }, { id: 21, length: 4 }] });
    const { records, dropped } = decoder.decode(
      ipfixMessage({ exportTime: NOW / 1000 }, options, flowTemplate, dataSet(256, [u32(1), u64(init), variable(Buffer.from('eth0'))]), dataSet(257, [address('192.0.2.10'), address('198.51.100.7'), u32(5000), u32(6000)])),
      EXPORTER,
      NOW,
    );
    assert.deepEqual(dropped, {});
    assert.equal(records.length, 1, 'the options record is not a flow');
    assert.equal(records[0]?.start, init + 5000);
    assert.equal(records[0]?.end, init + 6000);
  });

  it('reads times in seconds, microseconds (NTP format) and as deltas from the Export Time', () => {
    const decoder = new FlowDecoder();
    const exportTime = NOW / 1000;
    const base = [{ id: 8, length: 4 }, { id: 12, length: 4 }];
    const ends = [address('192.0.2.10'), address('198.51.100.7')];
    const seconds = decoder.decode(ipfixMessage({ exportTime }, templateSet({ id: 256, fields: [...base, { id: 150, length: 4 }, { id: 151, length: 4 }] }), dataSet(256, [...ends, u32(exportTime - 60), u32(exportTime - 1)])), EXPORTER, NOW).records[0];
    assert.deepEqual([seconds?.start, seconds?.end], [NOW - 60_000, NOW - 1000]);
    const ntp = (ms: number) => { const b = Buffer.alloc(8); b.writeUInt32BE(Math.floor(ms / 1000) + 2_208_988_800); b.writeUInt32BE(2 ** 31, 4); return b; };
    const micro = decoder.decode(ipfixMessage({ exportTime }, templateSet({ id: 257, fields: [...base, { id: 154, length: 8 }, { id: 157, length: 8 }] }), dataSet(257, [...ends, ntp(NOW - 2000), ntp(NOW - 1000)])), EXPORTER, NOW).records[0];
    assert.deepEqual([micro?.start, micro?.end], [NOW - 2000 + 500, NOW - 1000 + 500]);
    const delta = decoder.decode(ipfixMessage({ exportTime }, templateSet({ id: 258, fields: [...base, { id: 158, length: 4 }, { id: 159, length: 4 }] }), dataSet(258, [...ends, u32(3_000_000), u32(250_000)])), EXPORTER, NOW).records[0];
    assert.deepEqual([delta?.start, delta?.end], [NOW - 3000, NOW - 250]);
    const none = decoder.decode(ipfixMessage({ exportTime }, templateSet({ id: 259, fields: base }), dataSet(259, ends)), EXPORTER, NOW).records[0];
    assert.deepEqual([none?.start, none?.end], [NOW, NOW], 'no time in the record: the Export Time');
  });

  it('reports post-NAT addresses and ports when the template has them', () => {
    const decoder = new FlowDecoder();
    const fields = [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 7, length: 2 }, { id: 225, length: 4 }, { id: 227, length: 2 }, { id: 2, length: 4 }, { id: 1, length: 2 }];
    const { records } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields }), dataSet(256, [address('192.0.2.10'), address('198.51.100.7'), u16(40000), address('203.0.113.1'), u16(1024), u32(3), u16(180)])), EXPORTER, NOW);
    assert.equal(records[0]?.postNATSourceAddress, '203.0.113.1');
    assert.equal(records[0]?.postNAPTSourcePort, 1024);
    assert.equal(records[0]?.postNATDestinationAddress, undefined);
    assert.deepEqual([records[0]?.packets, records[0]?.octets], [3, 180], 'reduced-size counters (RFC 7011 §6.2)');
  });

  it('treats octets after the last whole record as padding (RFC 7011 §3.3.1)', () => {
    const decoder = new FlowDecoder();
    const { records, dropped } = decoder.decode(ipfixMessage({}, templateSet({ id: 256, fields: ipv4Fields }), dataSet(256, sampleRecord(sampleFlow()), [u8(0), u8(0), u8(0)])), EXPORTER, NOW);
    assert.equal(records.length, 1);
    assert.deepEqual(dropped, {});
  });
});
