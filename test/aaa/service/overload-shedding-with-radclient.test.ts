import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { encodeAccessRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { haveRadclient, radclient } from '../../support/radclient.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const LEGIT_SECRET = 'legitimate-nas-secret';
const FLOOD_SECRET = 'flooding-nas-secret';

/** A NAS that radclient cannot be: a UDP socket bound to a chosen loopback source, sending as fast as the loop lets it. */
class Flooder {
  answered = 0;
  private socket: Socket = createSocket('udp4');
  private stopped = false;

  constructor(private readonly source: string) {}

  async open(): Promise<void> {
    this.socket.on('message', () => (this.answered += 1));
    await new Promise<void>((r) => this.socket.bind(0, this.source, () => r()));
  }

  /** Sends `make(i)` in batches until stop(), `maxPackets` or `maxMs`, whichever comes first. */
  async run(to: string, make: (i: number) => Buffer, { maxPackets, maxMs }: { maxPackets: number; maxMs: number }): Promise<{ sent: number; ms: number }> {
    const [host, port] = to.split(':');
    const started = performance.now();
    this.stopped = false;
    let i = 0;
    while (!this.stopped && i < maxPackets && performance.now() - started < maxMs) {
      // Fewer per turn than libuv reads from a socket per wakeup (32): sender and server share
      // this event loop, and a faster sender would only overflow the kernel's receive buffer,
      // which no policy in the server can see.
      for (let b = 0; b < 16 && i < maxPackets; b++, i++) {
        this.socket.send(make(i), Number(port), host);
      }
      await yieldToLoop();
    }
    return { sent: i, ms: performance.now() - started };
  }

  stop(): void {
    this.stopped = true;
  }

  close(): void {
    this.socket.close();
  }
}

const metrics = async (t: TestGateway, name: string): Promise<Map<string, number>> => {
  const text = await t.gateway.metrics.registry.metrics();
  return new Map([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]));
};
const byNas = async (t: TestGateway, nas: string, outcome: string): Promise<number> => (await metrics(t, 'sideband_radius_nas_requests_total')).get(`nas="${nas}",outcome="${outcome}"`) ?? 0;
const dropped = async (t: TestGateway, cause: string): Promise<number> => (await metrics(t, 'sideband_radius_dropped_total')).get(`cause="${cause}"`) ?? 0;

describe('RADIUS under a flood from one NAS, with radclient as the other', { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
  let t: TestGateway;
  let auth: string;
  let flooder: Flooder;
  let stranger: Flooder;

  before(async () => {
    // Small limits, so that one test process can saturate the server.
    t = await startTestGateway('sqlite', 'radius-overload', { radius: { requestsPerSecondPerNas: 20, burstPerNas: 20, maxPendingRequests: 8 } });
    const ctx = t.gateway.context;
    await ctx.network.addPool({ name: 'legit', cidr: '198.51.100.0/24' });
    await ctx.network.addPool({ name: 'flood', cidr: '203.0.113.0/24' });
    await ctx.network.addNas({ name: 'bng-legit', address: '127.0.0.1/32', secret: LEGIT_SECRET, pool: 'legit' });
    await ctx.network.addNas({ name: 'bng-flood', address: '127.0.0.2/32', secret: FLOOD_SECRET, pool: 'flood' });
    await ctx.subscribers.add({ login: 'lena', password: 'lena-password' });
    await ctx.subscribers.add({ login: 'flo', password: 'flo-password' });
    await t.gateway.authentication.nas.load();
    auth = t.gateway.listen.radiusAuth!;
    flooder = new Flooder('127.0.0.2');
    await flooder.open();
    stranger = new Flooder('127.0.0.3');
    await stranger.open();
  });
  after(async () => {
    flooder?.close();
    stranger?.close();
    await t?.dispose();
  });

  /** radclient logs `lena` in on ports first..first+count-1, one at a time, then calls `done` (which stops the flood); `ms` is each radclient run, process start included. */
  const logInsDuring = async (first: number, count: number, done: () => void): Promise<{ codes: (string | null)[]; ms: number[] }> => {
    const codes: (string | null)[] = [];
    const ms: number[] = [];
    for (let port = first; port < first + count; port++) {
      const started = performance.now();
      const run = await radclient(auth, 'auth', LEGIT_SECRET, [`User-Name = lena, User-Password = "lena-password", Message-Authenticator = 0x00, NAS-Port = ${port}`], { retries: 3, timeout: 2 });
      ms.push(performance.now() - started);
      codes.push(run.replies[0]?.code ?? null);
      await sleep(100); // spread the log-ins over the flood
    }
    done();
    return { codes, ms };
  };

  it('drops forged and unknown-source floods before any work, charging no NAS, and keeps serving the valid NAS', async () => {
    const before = { invalid: await dropped(t, 'message-authenticator-invalid'), unknown: await dropped(t, 'unknown-client') };
    // Signed with the wrong secret, from the registered NAS's address; and well-formed, from an unregistered one.
    const forged = (i: number) => encodeAccessRequest({ identifier: i % 256, secret: 'not-the-secret', password: 'flo-password', attributes: [{ name: 'User-Name', value: 'flo' }, { name: 'NAS-Port', value: 1 }] });
    const foreign = (i: number) => encodeAccessRequest({ identifier: i % 256, secret: FLOOD_SECRET, password: 'flo-password', attributes: [{ name: 'User-Name', value: 'flo' }, { name: 'NAS-Port', value: 1 }] });
    const floods = Promise.all([flooder.run(auth, forged, { maxPackets: 50_000, maxMs: 10_000 }), stranger.run(auth, foreign, { maxPackets: 50_000, maxMs: 10_000 })]);
    await sleep(100);
    const legit = await logInsDuring(1, 5, () => {
      flooder.stop();
      stranger.stop();
    });
    const [forgedRun, foreignRun] = await floods;
    await sleep(200);

    assert.deepEqual(legit.codes, Array(5).fill('Access-Accept'));
    assert.equal(flooder.answered + stranger.answered, 0, 'nothing forged or foreign is answered');
    const invalid = (await dropped(t, 'message-authenticator-invalid')) - before.invalid;
    const unknown = (await dropped(t, 'unknown-client')) - before.unknown;
    assert.ok(invalid > 0 && unknown > 0, `forged ${invalid}, unknown ${unknown}`);
    assert.equal(await byNas(t, 'bng-flood', 'invalid'), invalid);
    for (const outcome of ['within-rate', 'over-rate', 'shed-over-rate', 'shed-overloaded']) assert.equal(await byNas(t, 'bng-flood', outcome), 0, `forged packets charged nothing (${outcome})`);
    console.log(
      `invalid flood: forged ${forgedRun.sent} in ${Math.round(forgedRun.ms)} ms (${Math.round(forgedRun.sent / (forgedRun.ms / 1000))}/s, ${invalid} dropped as message-authenticator-invalid), ` +
        `unknown source ${foreignRun.sent} in ${Math.round(foreignRun.ms)} ms (${unknown} dropped as unknown-client); ` +
        `radclient log-ins during it: ${legit.ms.map((m) => Math.round(m)).join(', ')} ms`,
    );
  });

  it('sheds a flood of valid requests from one NAS over its rate, serves the other NAS, and still answers retransmissions', async () => {
    const valid = (i: number) => encodeAccessRequest({ identifier: i % 256, secret: FLOOD_SECRET, password: 'flo-password', attributes: [{ name: 'User-Name', value: 'flo' }, { name: 'NAS-Port', value: 1 + (i % 200) }] });
    const flood = flooder.run(auth, valid, { maxPackets: 200_000, maxMs: 15_000 });
    await sleep(200);
    const legit = await logInsDuring(100, 10, () => flooder.stop());
    const run = await flood;
    await sleep(300);

    assert.deepEqual(legit.codes, Array(10).fill('Access-Accept'), 'the legitimate NAS is served while the flood runs');
    const shed = (await byNas(t, 'bng-flood', 'shed-over-rate')) + (await byNas(t, 'bng-flood', 'shed-overloaded'));
    const admitted = (await byNas(t, 'bng-flood', 'within-rate')) + (await byNas(t, 'bng-flood', 'over-rate'));
    assert.ok(shed > 0, 'the flood was shed');
    assert.equal(await dropped(t, 'over-rate'), await byNas(t, 'bng-flood', 'shed-over-rate'), 'only the flooding NAS was over its rate');
    assert.equal(await byNas(t, 'bng-legit', 'shed-over-rate'), 0);
    assert.ok(flooder.answered <= admitted && flooder.answered < run.sent, `answered ${flooder.answered} of ${run.sent}`);

    // A retransmission of an answered request: the same bytes back from the cache, no new work.
    const retransmitted = await byNas(t, 'bng-flood', 'retransmission');
    const probe = encodeAccessRequest({ identifier: 7, secret: FLOOD_SECRET, password: 'flo-password', attributes: [{ name: 'User-Name', value: 'flo' }, { name: 'NAS-Port', value: 1 }] });
    const answers: Buffer[] = [];
    const socket = createSocket('udp4');
    socket.on('message', (m) => answers.push(m));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.2', () => r()));
    const [host, port] = auth.split(':');
    // Bounded: the bucket refills at 20/s, so one of these few tries is admitted.
    for (let attempt = 0; attempt < 20 && answers.length === 0; attempt++) {
      socket.send(probe, Number(port), host);
      await sleep(100);
    }
    assert.equal(answers.length, 1, 'the probe was answered');
    const workBefore = (await byNas(t, 'bng-flood', 'within-rate')) + (await byNas(t, 'bng-flood', 'over-rate')) + (await byNas(t, 'bng-flood', 'shed-over-rate')) + (await byNas(t, 'bng-flood', 'shed-overloaded'));
    socket.send(probe, Number(port), host);
    await sleep(200);
    socket.close();
    assert.equal(answers.length, 2);
    assert.deepEqual(answers[1], answers[0], 'the cached answer, byte for byte');
    assert.equal(await byNas(t, 'bng-flood', 'retransmission'), retransmitted + 1);
    const workAfter = (await byNas(t, 'bng-flood', 'within-rate')) + (await byNas(t, 'bng-flood', 'over-rate')) + (await byNas(t, 'bng-flood', 'shed-over-rate')) + (await byNas(t, 'bng-flood', 'shed-overloaded'));
    assert.equal(workAfter, workBefore, 'a retransmission charges no admission');

    console.log(
      `valid flood: ${run.sent} Access-Requests in ${Math.round(run.ms)} ms (${Math.round(run.sent / (run.ms / 1000))}/s); ` +
        `admitted ${admitted} (within rate ${await byNas(t, 'bng-flood', 'within-rate')}, over rate ${await byNas(t, 'bng-flood', 'over-rate')}), answered ${flooder.answered}, ` +
        `shed ${shed} (over-rate ${await byNas(t, 'bng-flood', 'shed-over-rate')}, overloaded ${await byNas(t, 'bng-flood', 'shed-overloaded')}); ` +
        `radclient log-ins during it: ${legit.ms.map((m) => Math.round(m)).join(', ')} ms; bng-legit shed-overloaded ${await byNas(t, 'bng-legit', 'shed-overloaded')}`,
    );
  });
});
