// Flow records decoded and attributed per second: in process (the decoder alone), then
// the same IPFIX replay over loopback UDP into Sideband's collector (the whole gateway, in
// a process of its own), nfdump's nfcapd and pmacct's nfacctd, one after the other, each
// paced by its own socket queue. Everything listens on 127.0.0.1; temp files live under
// one directory removed at exit, and every child is stopped, also on failure.
//   node -C sideband-source --import tsx bench/flows/index.ts [--cpu-prof DIR]
// --cpu-prof keeps a V8 CPU profile of Sideband's collector in DIR (open it in Chrome's
// DevTools or speedscope).
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FlowDecoder } from '../../src/tracking/wire/flow-decoder.ts';
import type { CollectorCount, CollectorUnderTest } from './collector-under-test.ts';
import { killChildren, stopChildren } from './daemon.ts';
import { buildFlowReplay, type FlowReplay } from './flow-replay.ts';
import { ensureDebianPeers } from '../../scripts/debian-peers.js';
import { startNfacctd } from './nfacctd-peer.ts';
import { startNfcapd } from './nfcapd-peer.ts';
import { replayInto, type ReplayOutcome } from './replay-sender.ts';
import { startSideband } from './sideband-side.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const SUBSCRIBERS = 1000;
const MESSAGES = 60_000;
const RECORDS_PER_MESSAGE = 24;
const TEMPLATE_EVERY = 64;
const DECODE_PASSES = 3;
// A receiver that made the sender wait less than this share of the time, and kept no CPU
// busy, was not the limit.
const SENDER_BOUND_PERCENT = 10;
// Each collector gets this long to take the replay; the whole bench this long before it gives up.
const SIDE_SECONDS = 35;
const BENCH_SECONDS = 150;

const { values: options } = parseArgs({ options: { 'cpu-prof': { type: 'string' } } });
const cpuProfileDir = options['cpu-prof'] === undefined ? undefined : resolve(options['cpu-prof']);

const tmp = mkdtempSync(join(tmpdir(), 'sideband-bench-flows-'));
let cleaned = false;
function cleanUp(): void {
  if (cleaned) return;
  cleaned = true;
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
}
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
setTimeout(() => {
  console.error(`bench/flows: still running after ${BENCH_SECONDS} s; stopping.`);
  process.exit(1);
}, BENCH_SECONDS * 1000).unref();

const int = (n: number): string => Math.round(n).toLocaleString('en');
const perSecond = (n: number, seconds: number): string => (seconds > 0 ? int(n / seconds) : '-');

interface Measured {
  readonly collector: CollectorUnderTest;
  readonly outcome: ReplayOutcome;
  readonly count: CollectorCount;
}

function decodeOnly(replay: FlowReplay): { seconds: number; records: number } {
  const seconds: number[] = [];
  let records = 0;
  for (let pass = 0; pass < DECODE_PASSES; pass++) {
    const decoder = new FlowDecoder();
    records = 0;
    const began = performance.now();
    for (const datagram of replay.datagrams) records += decoder.decode(datagram, '127.0.0.1', Date.now()).records.length;
    seconds.push((performance.now() - began) / 1000);
  }
  // The median pass: the first pays for compilation, any one may meet a collection.
  return { seconds: seconds.sort((a, b) => a - b)[Math.floor(DECODE_PASSES / 2)]!, records };
}

async function measure(collector: CollectorUnderTest, replay: FlowReplay): Promise<Measured> {
  const outcome = await replayInto(collector.receiver, replay.datagrams, { deadline: Date.now() + SIDE_SECONDS * 1000 });
  const count = await collector.finish();
  const late = outcome.timedOut ? `; stopped at the ${SIDE_SECONDS} s limit` : '';
  console.log(`${collector.name.padEnd(9)} ${int(count.records)} records in ${outcome.seconds.toFixed(2)} s: ${perSecond(count.records, outcome.seconds)} records/s, ${outcome.cpuSeconds.toFixed(2)} CPU s; ${count.detail}${late}`);
  return { collector, outcome, count };
}

function printSummary(replay: FlowReplay, decoded: { seconds: number; records: number }, rows: readonly Measured[]): void {
  const header = ['', 'sent', 'decoded', 'attributed', 'kernel drops', 'seconds', 'decoded/s', 'attributed/s', 'CPU s', 'decoded/CPU s', 'sender waiting', 'longest wait s'];
  const alone = perSecond(decoded.records, decoded.seconds);
  const table = [
    header,
    ['decoder alone', '-', int(decoded.records), '-', '-', decoded.seconds.toFixed(2), alone, '-', decoded.seconds.toFixed(2), alone, '-', '-'],
    ...rows.map(({ collector, outcome: o, count: c }) => [
      collector.name, int(o.sent * RECORDS_PER_MESSAGE), int(c.records), c.attributed === null ? '-' : int(c.attributed), int(o.kernelDrops), o.seconds.toFixed(2),
      perSecond(c.records, o.seconds), c.attributed === null ? '-' : perSecond(c.attributed, o.seconds), o.cpuSeconds.toFixed(2), perSecond(c.records, o.cpuSeconds), `${Math.round((100 * o.waited) / o.seconds)} %`, o.longestWait.toFixed(3),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log('');
  for (const r of table) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  console.log(`sent: records in the datagrams sent, of ${int(replay.records)}. attributed: to a session by Sideband (${int(replay.outbound)} records have a subscriber as source; replies have not); for nfacctd, folded into a (source, destination) aggregate.`);
  console.log('seconds: from the first datagram to the receiver\'s last busy moment; for Sideband, to the end of its final write of every changed destination. CPU s: its processes\' user and system time over that span.');
  console.log(`sender waiting: share of the time the sender paused for a receiver queue over 2 MB (under ${SENDER_BOUND_PERCENT} %, the receiver's queue rarely filled); longest wait: the longest the receiver went without reading.`);
  console.log('decoder alone: FlowDecoder.decode over the same datagrams in this process, no sockets.');
  for (const { collector } of rows) console.log(`${collector.name}: ${collector.work}.`);
  const [ours, ...peers] = rows;
  if (!ours) return;
  for (const peer of peers) {
    const byWall = (ours.count.records / ours.outcome.seconds) / (peer.count.records / peer.outcome.seconds);
    const byCpu = (ours.count.records / ours.outcome.cpuSeconds) / (peer.count.records / peer.outcome.cpuSeconds);
    // Its queue rarely full and its processes short of one busy CPU: the sender was the limit.
    const o = peer.outcome;
    const senderBound = 100 * o.waited < SENDER_BOUND_PERCENT * o.seconds && o.cpuSeconds < 0.9 * o.seconds;
    const paced = senderBound ? ` (the sender, not ${peer.collector.name}, set the pace: its records per second are a floor, so that ratio is a ceiling)` : '';
    console.log(`Sideband / ${peer.collector.name}: ${byWall.toFixed(3)} × the records per second, ${byCpu.toFixed(3)} × the records per CPU second${paced}`);
  }
}

try {
  console.log(`bench/flows: ${int(SUBSCRIBERS)} sessions; ${int(MESSAGES)} IPFIX messages of ${RECORDS_PER_MESSAGE} records, a template every ${TEMPLATE_EVERY}; 127.0.0.1 only`);
  // Sender and receiver share the machine: what else runs on it shows in every figure.
  console.log(`machine   ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // The peers measured beside Sideband: nfdump's collector and pmacct's.
  ensureDebianPeers({ nfcapd: 'nfdump', nfacctd: 'pmacct' });
  const sideband = await startSideband(SUBSCRIBERS, tmp, cpuProfileDir);
  console.log(`Sideband  gateway up in its own process, ${int(sideband.addresses.length)} sessions opened in ${sideband.provisionSeconds.toFixed(1)} s`);
  const began = performance.now();
  const replay = buildFlowReplay({ subscribers: sideband.addresses, messages: MESSAGES, recordsPerMessage: RECORDS_PER_MESSAGE, templateEvery: TEMPLATE_EVERY, now: Date.now() });
  console.log(`replay    ${int(replay.records)} records, ${(replay.bytes / 1048576).toFixed(1)} MB, built in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  const decoded = decodeOnly(replay);
  console.log(`decoder   ${int(decoded.records)} records in ${decoded.seconds.toFixed(2)} s: ${perSecond(decoded.records, decoded.seconds)} records/s (median of ${DECODE_PASSES} passes)`);
  const rows = [await measure(sideband.collector, replay)];
  // A peer that is missing or fails leaves the others' figures standing.
  for (const [name, start] of [['nfcapd', startNfcapd], ['nfacctd', startNfacctd]] as const) {
    try {
      rows.push(await measure(await start(tmp), replay));
    } catch (e) {
      console.error(`${name.padEnd(9)} not measured: ${e instanceof Error ? e.message : String(e)}`);
      await stopChildren();
    }
  }
  printSummary(replay, decoded, rows);
  if (cpuProfileDir) console.log(`\nSideband's CPU profile: ${cpuProfileDir}`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await stopChildren();
  cleanUp();
}
