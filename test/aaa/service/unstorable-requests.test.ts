import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { encodeAccessRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { dialects } from '../../support/databases.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const SECRET = 'unstorable-requests-secret';

// Two inputs the fuzzer found ending as internal errors: a NUL in a text attribute the
// gateway stores (PostgreSQL refuses NUL in text), and Proxy-States that leave the reply
// no room under 4096 octets. Both are the peer's doing: dropped and counted by cause.
for (const dialect of dialects) {
  describe(`requests the gateway cannot store or answer, on ${dialect}`, () => {
    let t: TestGateway;
    let socket: Socket;
    const replies: number[] = [];

    before(async () => {
      t = await startTestGateway(dialect, `unstorable-${dialect}`);
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'p', cidr: '198.51.100.0/24' });
      await ctx.network.addNas({ name: 'bng', address: '127.0.0.1/32', secret: SECRET, pool: 'p' });
      await ctx.subscribers.add({ login: 'ursula', password: 'ursula-password' });
      await t.gateway.authentication.nas.load();
      socket = createSocket('udp4');
      socket.on('message', (m) => replies.push(m[1]!));
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    });
    after(async () => {
      socket?.close();
      await t?.dispose();
    });

    const dropped = async (cause: string): Promise<number> => {
      const text = await t.gateway.metrics.registry.metrics();
      return Number(new RegExp(`^sideband_radius_dropped_total\\{cause="${cause}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };

    /** Sends `bad`, then a valid request; waits for the valid one's answer, by which the bad one was handled. */
    const sendThenProbe = async (bad: Buffer, probeId: number): Promise<void> => {
      const [host, port] = t.gateway.listen.radiusAuth!.split(':');
      socket.send(bad, Number(port), host);
      socket.send(encodeAccessRequest({ identifier: probeId, secret: SECRET, password: 'ursula-password', attributes: [{ name: 'User-Name', value: 'ursula' }, { name: 'NAS-Port', value: probeId }] }), Number(port), host);
      for (let i = 0; i < 200 && !replies.includes(probeId); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(replies.includes(probeId), 'the valid request after it is answered');
    };

    it('a NUL in User-Name is dropped as text-invalid, never reaching the store', async () => {
      await sendThenProbe(encodeAccessRequest({ identifier: 1, secret: SECRET, password: 'ursula-password', attributes: [{ name: 'User-Name', value: 'urs\u0000ula' }, { name: 'NAS-Port', value: 1 }] }), 2);
      assert.ok(!replies.includes(1), 'no answer to the request with a NUL');
      assert.equal(await dropped('text-invalid'), 1);
      assert.equal(await dropped('internal-error'), 0);
    });

    it('Proxy-States that leave the reply no room are dropped as reply-too-large', async () => {
      // 4026 octets of Proxy-State: the request is exactly 4096 octets, the Access-Accept (which copies them) cannot be.
      const proxyStates = [...Array.from({ length: 15 }, (_, i) => ({ name: 'Proxy-State' as const, value: Buffer.alloc(253, i) })), { name: 'Proxy-State' as const, value: Buffer.alloc(199, 15) }];
      await sendThenProbe(encodeAccessRequest({ identifier: 3, secret: SECRET, password: 'ursula-password', attributes: [{ name: 'User-Name', value: 'ursula' }, { name: 'NAS-Port', value: 3 }, ...proxyStates] }), 4);
      assert.ok(!replies.includes(3));
      assert.equal(await dropped('reply-too-large'), 1);
      assert.equal(await dropped('internal-error'), 0);
    });
  });
}
