import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { v5Packet } from '../../fixtures/flows/netflow-v5-builder.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;

describe('NetFlow v5 decoding', () => {
  it('decodes every record, placing First/Last by sysUptime and the export time', () => {
    const decoder = new FlowDecoder();
    const header = { sysUptime: 3_600_000, unixSecs: NOW / 1000, unixNsecs: 250_000_000, engineType: 1, engineId: 2 };
    const packet = v5Packet(header, [
      { source: '192.0.2.10', destination: '198.51.100.7', sourcePort: 40000, destinationPort: 443, protocol: 6, packets: 5, octets: 400, first: 3_590_000, last: 3_599_000 },
      { source: '192.0.2.10', destination: '203.0.113.99', sourcePort: 40001, destinationPort: 123, protocol: 17 },
    ]);
    const { records, dropped } = decoder.decode(packet, EXPORTER, NOW);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records[0], {
      exporter: EXPORTER, domain: 0x0102, sourceAddress: '192.0.2.10', destinationAddress: '198.51.100.7', sourcePort: 40000, destinationPort: 443,
      protocol: 6, packets: 5, octets: 400, start: NOW + 250 - 10_000, end: NOW + 250 - 1000,
    });
    assert.equal(records[1]?.protocol, 17);
  });

  it('counts lost flows from flow_sequence, per engine', () => {
    const decoder = new FlowDecoder();
    const flow = { source: '192.0.2.10', destination: '198.51.100.7' };
    const send = (flowSequence: number, count: number, engineId = 0) => decoder.decode(v5Packet({ flowSequence, engineId }, Array(count).fill(flow)), EXPORTER, NOW).dropped['sequence-gap-records'] ?? 0;
    // The gap after 32 is counted when the packet after it follows on.
    assert.deepEqual([send(0, 2), send(2, 30), send(40, 1), send(0, 1, 9), send(41, 1)], [0, 0, 0, 0, 8]);
  });

  it('refuses a Count of 0 or over 30, and a datagram whose length disagrees with it', () => {
    const decoder = new FlowDecoder();
    const flow = { source: '192.0.2.10', destination: '198.51.100.7' };
    assert.deepEqual(decoder.decode(v5Packet({}, [], 0), EXPORTER, NOW).dropped, { 'record-count': 1 });
    assert.deepEqual(decoder.decode(v5Packet({}, Array(31).fill(flow)), EXPORTER, NOW).dropped, { 'record-count': 1 });
    assert.deepEqual(decoder.decode(v5Packet({}, [flow], 2), EXPORTER, NOW).dropped, { truncated: 1 });
    assert.deepEqual(decoder.decode(Buffer.concat([v5Packet({}, [flow]), Buffer.alloc(4)]), EXPORTER, NOW).dropped, { 'message-length': 1 });
    assert.deepEqual(decoder.decode(v5Packet({}, [flow]).subarray(0, 20), EXPORTER, NOW).dropped, { truncated: 1 });
    assert.equal(decoder.stats().records, 0);
  });
});
