import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureFile } from '../../fixtures/flows/capture-file.ts';
import { exportCaptureTo, softflowdBinary, untilCollected } from '../../fixtures/flows/softflowd.ts';
import { SUBSCRIBER_V6, subscriberTraffic } from '../../fixtures/flows/subscriber-traffic.ts';
import { dialects } from '../../support/databases.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const binary = softflowdBinary();


for (const dialect of dialects) {
  describe(`softflowd's IPv6 flows attributed by the delegated prefix that holds their source, on ${dialect}`, { skip: binary ? false : 'softflowd missing (apt-get install softflowd)' }, () => {
    let t: TestGateway;
    let dir: string;
    let capture: string;
    let sessionId: string;
    const start = Date.now() - 60_000;
    const packets = subscriberTraffic(start);
    const expected = [...new Set(packets.filter((p) => p.source === SUBSCRIBER_V6).map((p) => p.destination))].sort();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sideband-softflowd-v6-'));
      capture = join(dir, 'subscriber.pcap');
      writeFileSync(capture, captureFile(packets));
      t = await startTestGateway(dialect, `softflowd-v6-${dialect}`);
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'homes', cidr: '2001:db8::/48', prefixLength: 56 });
      const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: 'softflowd-secret-16', delegatedIpv6Pool: 'homes' });
      await ctx.subscribers.add({ login: 'ivan', password: 'ivan-password' });
      await ctx.exporters.add({ name: 'softflowd', address: '127.0.0.1' });
      await ctx.exporters.load();
      // The NAS delegated 2001:db8::/56 itself and reports it in its Accounting Start; the capture's source is inside it.
      sessionId = await t.gateway.authentication.sessions.start({
        nasId: nas.id, login: 'ivan', classValue: null, acctSessionId: 'sf-v6', nasIdentifier: 'bng', nasIpAddress: null, nasPort: 1, nasPortId: null,
        framedAddress: null, delegatedIpv6Prefix: '2001:db8::/56', sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
      }, start - 60_000);
    });
    after(async () => {
      await t?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const [version, listener] of [[9, 'netflow'], [10, 'ipfix']] as const) {
      it(`NetFlow v${version === 9 ? 9 : '10 / IPFIX'}`, async () => {
        await t.gateway.context.store.db.deleteFrom('session_destinations').execute();
        t.gateway.tracking.book.expire(Number.MAX_SAFE_INTEGER);
        await exportCaptureTo(binary!, capture, t.gateway.listen[listener]!, version, dir);
        // Datagrams are in flight after softflowd exits: wait for the destinations, not for a time.
        await untilCollected(t.gateway.flows!, () => t.gateway.tracking.book.of(sessionId).length >= expected.length);
        const res = await t.operator(`/v1/sessions/${sessionId}/destinations`);
        const seen = (res.body as { data: Array<{ destination: string }> }).data.map((d) => d.destination).sort();
        assert.deepEqual(seen, expected);
      });
    }
  });
}
