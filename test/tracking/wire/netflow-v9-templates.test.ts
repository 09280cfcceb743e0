import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { address, u16, u32, u8 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage } from '../../fixtures/flows/ipfix-message-builder.ts';
import { v9DataFlowSet, v9FlowSet, v9OptionsTemplateFlowSet, v9Packet, v9TemplateFlowSet } from '../../fixtures/flows/netflow-v9-builder.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;

// Cisco's common v9 layout: IPV4_SRC_ADDR, IPV4_DST_ADDR, L4 ports, PROTOCOL, IN_PKTS, IN_BYTES, FIRST_SWITCHED, LAST_SWITCHED.
const v4Fields = [{ id: 8, length: 4 }, { id: 12, length: 4 }, { id: 7, length: 2 }, { id: 11, length: 2 }, { id: 4, length: 1 }, { id: 2, length: 4 }, { id: 1, length: 4 }, { id: 22, length: 4 }, { id: 21, length: 4 }];
const v6Fields = [{ id: 27, length: 16 }, { id: 28, length: 16 }, ...v4Fields.slice(2)];

const v4Record = (destination: string, first: number, last: number) => [address('192.0.2.10'), address(destination), u16(40000), u16(443), u8(6), u32(5), u32(400), u32(first), u32(last)];

describe('NetFlow v9 templates', () => {
  it('decodes Data FlowSets with FIRST/LAST_SWITCHED placed by the header sysUpTime (RFC 3954 §5.1)', () => {
    const decoder = new FlowDecoder();
    const header = { sysUptime: 3_600_000, unixSecs: NOW / 1000, sourceId: 42 };
    const { records, dropped } = decoder.decode(v9Packet(header, v9TemplateFlowSet({ id: 256, fields: v4Fields }), v9DataFlowSet(256, v4Record('198.51.100.7', 3_590_000, 3_599_000), v4Record('203.0.113.5', 3_595_000, 3_600_000))), EXPORTER, NOW);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records[0], {
      exporter: EXPORTER, domain: 42, sourceAddress: '192.0.2.10', destinationAddress: '198.51.100.7', sourcePort: 40000, destinationPort: 443,
      protocol: 6, packets: 5, octets: 400, start: NOW - 10_000, end: NOW - 1000,
    });
    assert.equal(records[1]?.destinationAddress, '203.0.113.5');
  });

  it('survives the sysUpTime counter wrapping between a flow and its export', () => {
    const decoder = new FlowDecoder();
    const header = { sysUptime: 500, unixSecs: NOW / 1000 };
    const { records } = decoder.decode(v9Packet(header, v9TemplateFlowSet({ id: 256, fields: v4Fields }), v9DataFlowSet(256, v4Record('198.51.100.7', 2 ** 32 - 1500, 200))), EXPORTER, NOW);
    assert.deepEqual([records[0]?.start, records[0]?.end], [NOW - 2000, NOW - 300]);
  });

  it('decodes IPv6 flows and several templates in one Template FlowSet', () => {
    const decoder = new FlowDecoder();
    const v6 = [address('2001:db8::10'), address('2001:db8:1::5'), u16(40000), u16(443), u8(6), u32(5), u32(500), u32(3_599_000), u32(3_599_500)];
    const { records } = decoder.decode(v9Packet({}, v9TemplateFlowSet({ id: 256, fields: v4Fields }, { id: 257, fields: v6Fields }), v9DataFlowSet(257, v6), v9DataFlowSet(256, v4Record('198.51.100.7', 3_590_000, 3_599_000))), EXPORTER, NOW);
    assert.deepEqual(records.map((r) => `${r.sourceAddress} → ${r.destinationAddress}`), ['2001:db8::10 → 2001:db8:1::5', '192.0.2.10 → 198.51.100.7']);
  });

  it('keeps options templates and skips their records, unpadded as softflowd sends them (RFC 3954 §6.1)', () => {
    const decoder = new FlowDecoder();
    const options = v9OptionsTemplateFlowSet(300, [{ type: 2, length: 4 }], [{ id: 34, length: 4 }, { id: 35, length: 1 }, { id: 82, length: 16 }]);
    const optionsData = v9FlowSet(300, Buffer.concat([u32(1), u32(1), u8(2), Buffer.alloc(16, 0x61)]), false);
    const { records, dropped } = decoder.decode(v9Packet({}, v9TemplateFlowSet({ id: 256, fields: v4Fields }), options, optionsData, v9DataFlowSet(256, v4Record('198.51.100.7', 3_590_000, 3_599_000))), EXPORTER, NOW);
    assert.deepEqual(dropped, {});
    assert.equal(records.length, 1);
    assert.equal(decoder.stats().templates, 2);
  });

  it('keeps v9 Source IDs and IPFIX Observation Domains with the same number apart', () => {
    const decoder = new FlowDecoder({ holdTime: 1 });
    decoder.decode(v9Packet({ sourceId: 1 }, v9TemplateFlowSet({ id: 256, fields: v4Fields })), EXPORTER, NOW);
    assert.equal(decoder.decode(ipfixMessage({ domain: 1 }, dataSet(256, v4Record('198.51.100.7', 0, 0))), EXPORTER, NOW).records.length, 0);
    assert.equal(decoder.stats().heldSets, 1);
  });

  it('counts lost export packets from the sequence number (RFC 3954 §5.1)', () => {
    const decoder = new FlowDecoder();
    const gaps = [1, 2, 5, 6, 10, 11].map((sequence) => decoder.decode(v9Packet({ sequence }, v9TemplateFlowSet({ id: 256, fields: v4Fields })), EXPORTER, NOW).dropped['sequence-gap-packets'] ?? 0);
    assert.deepEqual(gaps, [0, 0, 0, 2, 0, 3], 'each gap counted when the packet after it follows on');
    assert.equal(decoder.decode(v9Packet({ sequence: 9 }), EXPORTER, NOW).dropped['sequence-gap-packets'], undefined, 'a late packet is not a loss');
    assert.equal(decoder.decode(v9Packet({ sequence: 0 }, v9TemplateFlowSet({ id: 256, fields: v4Fields })), EXPORTER, NOW).dropped['sequence-gap-packets'], undefined);
  });

  it('refuses what v9 cannot mean: Field Count 0, Length 0 or 65535', () => {
    const decoder = new FlowDecoder();
    const zeroCount = v9FlowSet(0, Buffer.concat([u16(256), u16(0)]));
    const zeroLength = v9TemplateFlowSet({ id: 257, fields: [{ id: 8, length: 0 }] });
    const variable = v9TemplateFlowSet({ id: 258, fields: [{ id: 8, length: 4 }, { id: 82, length: 65535 }] });
    const { dropped } = decoder.decode(v9Packet({}, zeroCount, zeroLength, variable), EXPORTER, NOW);
    assert.equal(dropped['template-invalid'], 3);
    assert.equal(decoder.stats().templates, 0);
  });
});
