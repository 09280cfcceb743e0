import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { u32, u64 } from '../../fixtures/flows/field-bytes.ts';
import { dataSet, ipfixMessage, optionsTemplateSet, templateSet } from '../../fixtures/flows/ipfix-message-builder.ts';
import { ipv4Fields, sampleFlow, sampleRecord } from '../../fixtures/flows/sample-templates.ts';

const EXPORTER = '198.51.100.1';
const NOW = 1_732_363_200_000;
const record = sampleRecord(sampleFlow());

/**
 * A decoder that knows template 256 in each domain (sent with sequence number `first`),
 * and a way to send `n` records with a sequence number.
 */
function exporter(domains = [0], first = 0) {
  const decoder = new FlowDecoder({ holdTime: 1000 });
  const domain = domains[0]!;
  for (const d of domains) decoder.decode(ipfixMessage({ domain: d, sequence: first }, templateSet({ id: 256, fields: ipv4Fields }), optionsTemplateSet({ id: 257, scope: 1, fields: [{ id: 149, length: 4 }, { id: 160, length: 8 }] })), EXPORTER, NOW);
  const send = (sequence: number, n: number, d = domain) => decoder.decode(ipfixMessage({ sequence, domain: d }, dataSet(256, ...Array(n).fill(record))), EXPORTER, NOW).dropped['sequence-gap-records'] ?? 0;
  return { decoder, send };
}

describe('IPFIX sequence numbers (RFC 7011 §3.1)', () => {
  it('count Data Records, so a gap is the number of records lost, once the message after it is followed on', () => {
    const { send } = exporter();
    assert.deepEqual([send(0, 3), send(3, 2), send(10, 1), send(11, 4)], [0, 0, 0, 5]);
  });

  it('count options records as Data Records too', () => {
    const { decoder, send } = exporter();
    send(100, 1);
    decoder.decode(ipfixMessage({ sequence: 101 }, dataSet(257, [u32(1), u64(NOW - 60_000)])), EXPORTER, NOW);
    assert.equal(send(102, 1), 0);
  });

  it('do not advance on template-only messages', () => {
    const { decoder, send } = exporter();
    send(0, 2);
    decoder.decode(ipfixMessage({ sequence: 2 }, templateSet({ id: 256, fields: ipv4Fields })), EXPORTER, NOW);
    assert.equal(send(2, 1), 0);
  });

  it('are tracked per Observation Domain, across 2^32', () => {
    const { send } = exporter([1, 2], 2 ** 32 - 2);
    assert.deepEqual([send(2 ** 32 - 2, 3, 1), send(2 ** 32 - 2, 5, 2), send(1, 1, 1), send(3, 1, 2), send(4, 1, 1), send(5, 1, 1)], [0, 0, 0, 0, 0, 2]);
  });

  it('report no loss after a message whose records could not be counted', () => {
    const { decoder, send } = exporter();
    send(0, 1);
    decoder.decode(ipfixMessage({ sequence: 1 }, dataSet(999, record)), EXPORTER, NOW);
    assert.equal(send(2, 1), 0, 'the held set had one record, which the decoder could not know');
  });

  it('count a message overtaken by a later one as no loss, a late duplicate as nothing, and follow an exporter restart', () => {
    const { send } = exporter([0], 1000);
    assert.deepEqual([send(1000, 10), send(1020, 10), send(1010, 10), send(1030, 10), send(1015, 5), send(1040, 10)], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([send(0, 10), send(10, 10), send(30, 1), send(31, 1)], [0, 0, 0, 10], 'restarted at 0, then lost 10');
  });

  it('take a jump of a million records or more for a restart, not a loss', () => {
    const { send } = exporter();
    assert.deepEqual([send(0, 10), send(2 ** 20 + 10, 10), send(2 ** 20 + 25, 1), send(2 ** 20 + 26, 1)], [0, 0, 0, 5]);
  });

  it('count nothing for one forged message, ahead or behind, and keep counting the real stream', () => {
    const { send } = exporter();
    const forged = [2 ** 20 - 1, 2 ** 31, 5, 2 ** 32 - 1];
    const counted = [send(0, 10), send(10, 10)];
    for (const [i, sequence] of forged.entries()) counted.push(send(sequence, 1), send(20 + i * 10, 10));
    assert.deepEqual(counted, Array(2 + 2 * forged.length).fill(0));
    assert.deepEqual([send(70, 10), send(80, 1)], [0, 10], 'a real loss after them is still counted');
  });

  it('count nothing for a gap from a stream of one message: it may have been forged', () => {
    // The template message, numbered 0, is all the decoder has seen of the domain.
    const { send } = exporter([0], 0);
    assert.deepEqual([send(5000, 10), send(5010, 10), send(5030, 10), send(5040, 10)], [0, 0, 0, 10]);
  });
});
