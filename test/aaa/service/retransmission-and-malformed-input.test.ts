import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeAccessRequest, encodeAccountingRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const SECRET = 'hand-rolled-nas-secret';

/** A NAS on a UDP socket of its own, sending exact bytes. */
class RawNas {
  private socket: Socket = createSocket('udp4');
  private replies: Buffer[] = [];
  async open(): Promise<void> {
    this.socket.on('message', (m) => this.replies.push(m));
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
  }
  async send(bytes: Buffer, to: string, waitMs = 300): Promise<Buffer[]> {
    const [host, port] = to.split(':');
    this.replies = [];
    await new Promise<void>((r, j) => this.socket.send(bytes, Number(port), host, (e) => (e ? j(e) : r())));
    await new Promise((r) => setTimeout(r, waitMs));
    return this.replies;
  }
  close(): void {
    this.socket.close();
  }
}

const dropped = async (t: TestGateway): Promise<Record<string, number>> => {
  const text = await t.gateway.metrics.registry.metrics();
  return Object.fromEntries([...text.matchAll(/^sideband_radius_dropped_total\{cause="([^"]+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
};

describe('RADIUS retransmissions and malformed input', () => {
  let t: TestGateway;
  let nas: RawNas;

  before(async () => {
    t = await startTestGateway('sqlite', 'radius-raw');
    await t.gateway.context.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
    await t.gateway.context.network.addNas({ name: 'raw', address: '127.0.0.1', secret: SECRET, pool: 'access' });
    await t.gateway.context.subscribers.add({ login: 'gina', password: 'gina-password' });
    await t.gateway.authentication.nas.load();
    nas = new RawNas();
    await nas.open();
  });
  after(async () => {
    nas.close();
    await t.dispose();
  });

  it('answers a retransmission from the cache without opening a second session', async () => {
    const request = encodeAccessRequest({ identifier: 42, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }, { name: 'NAS-Port', value: 1 }] });
    const [first] = await nas.send(request, t.gateway.listen.radiusAuth!);
    const [second] = await nas.send(request, t.gateway.listen.radiusAuth!);
    assert.ok(first && second);
    assert.deepEqual(second, first, 'the same bytes, not a second answer');
    const sessions = await t.gateway.context.store.db.selectFrom('sessions').select('id').where('login', '=', 'gina').execute();
    assert.equal(sessions.length, 1);
    // Same Identifier, new Request Authenticator: a new request (RFC 5080 §2.2.2).
    const fresh = encodeAccessRequest({ identifier: 42, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }, { name: 'NAS-Port', value: 2 }] });
    const [third] = await nas.send(fresh, t.gateway.listen.radiusAuth!);
    assert.equal(decodePacket(third!).ok && decodePacket(third!).ok, true);
    assert.equal((await t.gateway.context.store.db.selectFrom('sessions').select('id').where('login', '=', 'gina').execute()).length, 2);
    const text = await t.gateway.metrics.registry.metrics();
    assert.match(text, /sideband_radius_retransmissions_total\{kind="Access-Request"\} 1/);
  });

  it('drops truncated, inconsistent and overflowing packets, counts each cause, and keeps serving', async () => {
    const good = encodeAccessRequest({ identifier: 7, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }] });
    const cases: Array<[string, Buffer]> = [
      ['datagram-too-short', good.subarray(0, 10)],
      ['length-exceeds-datagram', Buffer.concat([good.subarray(0, 2), Buffer.from([0x10, 0x00]), good.subarray(4)])],
      ['length-below-minimum', Buffer.concat([good.subarray(0, 2), Buffer.from([0x00, 0x05]), good.subarray(4)])],
      ['unknown-code', Buffer.concat([Buffer.from([99]), good.subarray(1)])],
      ['attribute-length-invalid', (() => { const b = Buffer.from(good); b[21] = 1; return b; })()],
      ['wrong-port', encodeAccountingRequest({ identifier: 9, secret: SECRET, attributes: [{ name: 'Acct-Status-Type', value: 1 }] })],
    ];
    const before = await dropped(t);
    for (const [, bytes] of cases) assert.deepEqual(await nas.send(bytes, t.gateway.listen.radiusAuth!, 50), []);
    const afterDrops = await dropped(t);
    for (const [cause] of cases) assert.equal((afterDrops[cause] ?? 0) - (before[cause] ?? 0), 1, cause);
    const [reply] = await nas.send(encodeAccessRequest({ identifier: 8, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }] }), t.gateway.listen.radiusAuth!);
    assert.ok(reply, 'the server still answers');
  });

  it('survives a flood of random and mutated datagrams', async () => {
    const seed = encodeAccessRequest({ identifier: 1, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }] });
    const samples = fc.sample(fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)), fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => { const b = Buffer.from(seed); b[i] = v; return b; })), 500);
    const socket = createSocket('udp4');
    const [host, port] = t.gateway.listen.radiusAuth!.split(':');
    for (const s of samples) socket.send(s, Number(port), host);
    await new Promise((r) => setTimeout(r, 500));
    socket.close();
    const [reply] = await nas.send(encodeAccessRequest({ identifier: 200, secret: SECRET, password: 'gina-password', attributes: [{ name: 'User-Name', value: 'gina' }] }), t.gateway.listen.radiusAuth!);
    assert.ok(reply, 'still answering after the flood');
  });
});
