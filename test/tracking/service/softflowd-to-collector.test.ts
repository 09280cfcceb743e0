import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureFile } from '../../fixtures/flows/capture-file.ts';
import { exportCaptureTo, softflowdBinary, untilCollected } from '../../fixtures/flows/softflowd.ts';
import { SUBSCRIBER_V4, subscriberTraffic } from '../../fixtures/flows/subscriber-traffic.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const binary = softflowdBinary();


describe('softflowd exporting a capture to the gateway\'s collector', { skip: binary ? false : 'softflowd missing (apt-get install softflowd)' }, () => {
  let t: TestGateway;
  let dir: string;
  let capture: string;
  let sessionId: string;
  const start = Date.now() - 60_000;
  const packets = subscriberTraffic(start);
  const expected = [...new Set(packets.filter((p) => p.source === SUBSCRIBER_V4).map((p) => p.destination))].sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-softflowd-'));
    capture = join(dir, 'subscriber.pcap');
    writeFileSync(capture, captureFile(packets));
    t = await startTestGateway('sqlite', 'softflowd-collector');
    const ctx = t.gateway.context;
    const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'softflowd-secret-16' });
    await ctx.subscribers.add({ login: 'ivan', password: 'ivan-password' });
    await ctx.exporters.add({ name: 'softflowd', address: '127.0.0.1' });
    await ctx.exporters.load();
    // A NAS that allocates its own addresses reports the session by Accounting Start.
    sessionId = await t.gateway.authentication.sessions.start({
      nasId: nas.id, login: 'ivan', classValue: null, acctSessionId: 'sf-1', nasIdentifier: 'bng', nasIpAddress: null, nasPort: 1, nasPortId: null,
      framedAddress: SUBSCRIBER_V4, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
    }, start - 60_000);
  });
  after(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [version, listener] of [[9, 'netflow'], [10, 'ipfix']] as const) {
    it(`attributes exactly the capture's destinations to the session (NetFlow v${version === 9 ? 9 : '10 / IPFIX'})`, async () => {
      await t.gateway.context.store.db.deleteFrom('session_destinations').execute();
      t.gateway.tracking.book.expire(Number.MAX_SAFE_INTEGER);
      await exportCaptureTo(binary!, capture, t.gateway.listen[listener]!, version, dir);
      // Datagrams are in flight after softflowd exits: wait for the destinations, not for a time.
      await untilCollected(t.gateway.flows!, () => t.gateway.tracking.book.of(sessionId).length >= expected.length);
      const res = await t.operator(`/v1/sessions/${sessionId}/destinations`);
      assert.equal(res.status, 200);
      const body = res.body as { data: Array<{ destination: string; flows: number; firstSeen: string; lastSeen: string }> };
      assert.deepEqual(body.data.map((d) => d.destination).sort(), expected);
      for (const d of body.data) assert.ok(Date.parse(d.firstSeen) >= start - 2000 && Date.parse(d.lastSeen) <= Date.now(), 'times come from the flows');
      const newestFirst = body.data.map((d) => Date.parse(d.lastSeen));
      assert.deepEqual(newestFirst, [...newestFirst].sort((a, b) => b - a));
    });
  }

  it('drops datagrams from an unregistered exporter, and counts them', async () => {
    const ctx = t.gateway.context;
    await ctx.store.db.deleteFrom('exporters').execute();
    await ctx.exporters.load();
    const handled = once(t.gateway.flows!, 'datagram');
    await exportCaptureTo(binary!, capture, t.gateway.listen.ipfix!, 10, dir);
    await handled;
    const text = await t.gateway.metrics.registry.metrics();
    assert.match(text, /sideband_flow_dropped_total\{cause="unknown-exporter"\} [1-9]/);
  });
});
