import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlowDecoder } from '../../../src/tracking/wire/flow-decoder.ts';
import { captureFile } from '../../fixtures/flows/capture-file.ts';
import { templateSet, ipfixMessage } from '../../fixtures/flows/ipfix-message-builder.ts';
import { exportWithSoftflowd, softflowdBinary } from '../../fixtures/flows/softflowd.ts';
import { SUBSCRIBER_V4, subscriberTraffic } from '../../fixtures/flows/subscriber-traffic.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const binary = softflowdBinary();
/** More sources than the decoder's 1,024 exporters, each with 16 templates a round: 16,384 fill maxTemplates. */
const FLOOD_SOURCES = 1200;
const TEMPLATES_PER_ROUND = 16;
const MAX_ROUNDS = 60;
const source = (i: number) => `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`;

/**
 * Template sets from FLOOD_SOURCES addresses inside the registered range 127.0.0.0/8, new
 * Template IDs each round, one datagram per source per round. Each round waits for the
 * collector to have read the last (so that the flood fills the decoder's tables rather
 * than the kernel's socket buffer), until stopped or MAX_ROUNDS.
 */
class TemplateFlood {
  rounds = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  private constructor(private readonly sockets: Socket[], private readonly port: number, private readonly caughtUp: (sent: number) => Promise<void>) {}

  static async open(port: number, caughtUp: (sent: number) => Promise<void>): Promise<TemplateFlood> {
    const sockets = await Promise.all(Array.from({ length: FLOOD_SOURCES }, (_, i) => new Promise<Socket>((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, source(i), () => resolve(socket));
    })));
    return new TemplateFlood(sockets, port, caughtUp);
  }

  get sent(): number {
    return this.rounds * FLOOD_SOURCES;
  }

  async round(): Promise<void> {
    const first = 256 + (this.rounds % 64) * TEMPLATES_PER_ROUND;
    const message = ipfixMessage({ sequence: this.rounds }, templateSet(...Array.from({ length: TEMPLATES_PER_ROUND }, (_, i) => ({ id: first + i, fields: [{ id: 8, length: 4 }, { id: 12, length: 4 }] }))));
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.send(message, this.port, '127.0.0.1', () => resolve()))));
    this.rounds++;
    await this.caughtUp(this.sent);
  }

  /** Goes on in the background until stop(). */
  start(): void {
    this.running = (async () => {
      while (!this.stopped && this.rounds < MAX_ROUNDS) await this.round();
    })();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.running;
    this.stopped = true;
    await this.running;
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

describe('the real exporter\'s flows through a template flood from its registered range (issue 12)', { skip: binary ? false : 'softflowd missing (apt-get install softflowd)', timeout: 60_000 }, () => {
  let t: TestGateway;
  let dir: string;
  let capture: string;
  let sessionId: string;
  let flood: TemplateFlood;
  let legitSent = 0;
  const start = Date.now() - 60_000;
  const packets = subscriberTraffic(start);
  const expected = [...new Set(packets.filter((p) => p.source === SUBSCRIBER_V4).map((p) => p.destination))].sort();

  const counter = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const metric = await t.gateway.metrics.registry.getSingleMetric(name)?.get();
    return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  };
  /** Polls `check` (the collector has no event to wait on) until it holds; a broken build fails with `what`, not the suite's timeout. */
  const until = async (check: () => Promise<boolean>, what: () => string) => {
    const give = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > give) throw new Error(`gave up waiting: ${what()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Waits until the collector has read `n` datagrams on the IPFIX port. */
  const readAtLeast = (n: number) => until(async () => (await counter('sideband_flow_datagrams_total', { listener: 'ipfix' })) >= n, () => `the collector to read ${n} datagrams`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-template-flood-'));
    capture = join(dir, 'subscriber.pcap');
    writeFileSync(capture, captureFile(packets));
    t = await startTestGateway('sqlite', 'template-flood');
    const ctx = t.gateway.context;
    const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'template-flood-secret' });
    await ctx.subscribers.add({ login: 'ivan', password: 'ivan-password' });
    // softflowd's own address registered by name; the rest of loopback only as a range.
    await ctx.exporters.add({ name: 'softflowd', address: '127.0.0.1' });
    await ctx.exporters.add({ name: 'loopback-range', address: '127.0.0.0/8' });
    await ctx.exporters.load();
    sessionId = await t.gateway.authentication.sessions.start({
      nasId: nas.id, login: 'ivan', classValue: null, acctSessionId: 'flood-1', nasIdentifier: 'bng', nasIpAddress: null, nasPort: 1, nasPortId: null,
      framedAddress: SUBSCRIBER_V4, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
    }, start - 60_000);
    const port = Number(t.gateway.listen.ipfix!.split(':').at(-1));
    flood = await TemplateFlood.open(port, (sent) => readAtLeast(sent + legitSent));
  });
  after(async () => {
    await flood?.stop();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills the decoder\'s exporter and template tables, then softflowd exports and every one of its subscriber\'s flows is attributed, round after round', async (diagnostics) => {
    // Before: the flood alone, until both tables are full.
    await flood.round();
    const state = async (kind: string) => counter('sideband_flow_decoder_state', { kind });
    assert.deepEqual([await state('exporters'), await state('templates')], [1024, 16_384]);
    flood.start();

    // softflowd itself, a new exporter amid full tables, while the flood goes on.
    const attributedBefore = await counter('sideband_flows_attributed_total');
    const roundsBefore = flood.rounds;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary!, ['-r', capture, '-n', t.gateway.listen.ipfix!, '-v', '10', '-d', '-p', join(dir, 'sf.pid'), '-c', 'none'], { stdio: 'ignore' });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`softflowd exited ${code}`))));
    });
    // What softflowd sent, decoded by a decoder nobody floods: the records a session can be found for.
    const clean = await exportWithSoftflowd(binary!, capture, 10, dir);
    const decoder = new FlowDecoder();
    const attributable = clean.datagrams.flatMap((d) => decoder.decode(d, '127.0.0.1', Date.now()).records).filter((r) => r.sourceAddress === SUBSCRIBER_V4).length;
    assert.ok(attributable > 0);
    let gained = 0;
    await until(async () => (gained = (await counter('sideband_flows_attributed_total')) - attributedBefore) >= attributable, () => `softflowd's flows to be attributed: ${gained} of ${attributable}`);
    assert.deepEqual([...new Set(t.gateway.tracking.book.of(sessionId).map((d) => d.destination))].sort(), expected);
    assert.ok(flood.rounds > roundsBefore, 'the flood went on while softflowd exported');

    // Then softflowd's real datagrams again and again from its address, between flood rounds.
    const replay = createSocket('udp4');
    await new Promise<void>((resolve) => replay.bind(0, '127.0.0.1', () => resolve()));
    const port = Number(t.gateway.listen.ipfix!.split(':').at(-1));
    let attributed = 0;
    const replays = 10;
    try {
      for (let i = 0; i < replays; i++) {
        const before = await counter('sideband_flows_attributed_total');
        const roundsAtStart = flood.rounds;
        for (const datagram of clean.datagrams) await new Promise<void>((resolve) => replay.send(datagram, port, '127.0.0.1', () => resolve()));
        legitSent += clean.datagrams.length;
        let gained = 0;
        await until(async () => (gained = (await counter('sideband_flows_attributed_total')) - before) >= attributable, () => `replay ${i}: ${gained} of ${attributable} attributed`);
        assert.equal(gained, attributable, `replay ${i}`);
        attributed += gained;
        // The next replay waits for a flood round, so that the two interleave.
        await until(async () => flood.rounds > roundsAtStart || flood.rounds >= MAX_ROUNDS, () => 'a flood round');
      }
    } finally {
      replay.close();
    }
    await flood.stop();
    const dropped = async (cause: string) => counter('sideband_flow_dropped_total', { cause });
    assert.ok((await dropped('exporter-displaced')) >= 1, 'softflowd displaced the newest flooder');
    assert.ok((await dropped('template-limit')) > 0 && (await dropped('exporter-limit')) > 0, 'the flood was refused room meanwhile');
    diagnostics.diagnostic(`attributed ${attributed} of ${attributable * replays} replayed (${((100 * attributed) / (attributable * replays)).toFixed(1)} %), plus softflowd's live run in full; flood rounds ${flood.rounds} × ${FLOOD_SOURCES} sources; refused templates ${await dropped('template-limit')}, exporters ${await dropped('exporter-limit')}, displaced exporters ${await dropped('exporter-displaced')}, templates ${await dropped('template-displaced')}`);
  });
});
