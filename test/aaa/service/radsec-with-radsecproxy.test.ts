import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { encodeAccessRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { dialects } from '../../support/databases.ts';
import { haveRadclient, radclient } from '../../support/radclient.ts';
import { haveRadsecproxy, startRadsecproxy, type Radsecproxy } from '../../support/radsecproxy.ts';
import { testCertificates, type IssuedCertificate, type TestCertificates } from '../../support/test-certificates.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const metric = async (t: TestGateway, name: string, labels: string): Promise<number> => {
  const text = await t.gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/** A TLS client presenting `client`, as a NAS's RadSec stack would, trusting the test CA. */
async function tlsClient(server: string, certs: TestCertificates, client: IssuedCertificate): Promise<TLSSocket> {
  const port = Number(server.slice(server.lastIndexOf(':') + 1));
  const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(certs.caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile), servername: 'localhost' });
  await once(socket, 'secureConnect');
  return socket;
}

/** Reads whole RADIUS packets off a stream until `n` have come. */
async function readPackets(socket: TLSSocket, n: number): Promise<Buffer[]> {
  let buffered = Buffer.alloc(0);
  const packets: Buffer[] = [];
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= buffered.readUInt16BE(2)) {
      const length = buffered.readUInt16BE(2);
      packets.push(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
    }
    if (packets.length >= n) break;
  }
  return packets;
}

const skip = !haveRadclient ? 'radclient missing (apt-get install freeradius-utils)' : !haveRadsecproxy ? 'radsecproxy missing (apt-get install radsecproxy)' : false;

for (const dialect of dialects) {
  describe(`RADIUS over TLS (RFC 6614) through radsecproxy on ${dialect}`, { skip }, () => {
    let t: TestGateway;
    let certs: TestCertificates;
    let proxy: Radsecproxy;
    let nas: IssuedCertificate;
    let named: IssuedCertificate;
    let stranger: IssuedCertificate;
    let expired: IssuedCertificate;

    before(async () => {
      certs = testCertificates();
      const server = certs.issue('sideband-gateway', { sans: 'IP:127.0.0.1,DNS:localhost' });
      nas = certs.issue('bng-radsec');
      named = certs.issue('bng-named', { sans: 'DNS:bng-named.access.test' });
      stranger = certs.issue('stranger', { selfSigned: true });
      expired = certs.issue('bng-expired', { startDate: '20200101000000Z', endDate: '20200201000000Z' });
      t = await startTestGateway(dialect, `radsec-${dialect}`, {
        listen: { radsec: 0 },
        radsec: { certificateFile: server.certFile, keyFile: server.keyFile, caFile: certs.caFile },
        radius: { holdDownSeconds: 0, interimIntervalSeconds: 0 },
      });
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
      await ctx.network.addNas({ name: 'bng-radsec', address: '127.0.0.1/32', secret: 'udp-secret-not-used-here', pool: 'access', tlsFingerprint: nas.fingerprint });
      await ctx.network.addNas({ name: 'bng-named', address: '127.0.0.0/8', secret: 'udp-secret-not-used-here', pool: 'access', tlsName: 'bng-named.access.test' });
      await ctx.subscribers.add({ login: 'alice', password: 'alice-password', seconds: 3600 });
      await ctx.subscribers.add({ login: 'bob', password: 'bob-password' });
      await t.gateway.authentication.nas.load();
      proxy = await startRadsecproxy(t.gateway.listen.radsec!, { caFile: certs.caFile, certFile: nas.certFile, keyFile: nas.keyFile });
    });
    after(async () => {
      await proxy?.close();
      await t?.dispose();
      certs?.dispose();
    });

    it('radclient → radsecproxy → Sideband: Access-Accept with the allocated address, accounting Start and Stop stored', async () => {
      const auth = await radclient(proxy.udp, 'auth', proxy.secret, ['User-Name = alice, User-Password = "alice-password", Message-Authenticator = 0x00, NAS-Port = 7, NAS-Identifier = bng-radsec']);
      assert.equal(auth.replies[0]?.code, 'Access-Accept', `${auth.output}\n${proxy.output()}`);
      const { 'Framed-IP-Address': address, Class: cls, 'Session-Timeout': timeout } = auth.replies[0]!.attributes;
      assert.match(address!, /^198\.51\.100\.\d+$/);
      assert.equal(timeout, '3600');
      const acct = (status: string, extra = '') => `User-Name = alice, Acct-Status-Type = ${status}, Acct-Session-Id = radsec-1, Class = ${cls}, Framed-IP-Address = ${address}, NAS-Port = 7, NAS-Identifier = bng-radsec${extra}`;
      const start = await radclient(proxy.udp, 'acct', proxy.secret, [acct('Start')]);
      assert.equal(start.replies[0]?.code, 'Accounting-Response', `${start.output}\n${proxy.output()}`);
      const stop = await radclient(proxy.udp, 'acct', proxy.secret, [acct('Stop', ', Acct-Session-Time = 90, Acct-Terminate-Cause = User-Request')]);
      assert.equal(stop.replies[0]?.code, 'Accounting-Response', stop.output);

      const row = await t.gateway.context.store.db.selectFrom('sessions').innerJoin('nas_clients', 'nas_clients.id', 'sessions.nas_id').select(['sessions.status', 'sessions.charged_seconds', 'nas_clients.name as nas']).where('acct_session_id', '=', 'radsec-1').executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: 'closed', charged_seconds: 90, nas: 'bng-radsec' });
      assert.equal((await t.gateway.context.subscribers.show('alice')).secondsRemaining, 3600 - 90);
      assert.ok((await metric(t, 'sideband_radsec_connections_total', 'outcome="accepted"')) >= 1);
    });

    it('serves a NAS by a CA-issued certificate naming it, with the "radsec" secret, several packets in one write and one packet split in two', async () => {
      const socket = await tlsClient(t.gateway.listen.radsec!, certs, named);
      const secret = Buffer.from('radsec');
      const a = encodeAccessRequest({ identifier: 1, secret, password: 'bob-password', attributes: [{ name: 'User-Name', value: 'bob' }, { name: 'NAS-Port', value: 1 }] });
      const b = encodeAccessRequest({ identifier: 2, secret, password: 'wrong-password', attributes: [{ name: 'User-Name', value: 'bob' }, { name: 'NAS-Port', value: 2 }] });
      const c = encodeAccessRequest({ identifier: 3, secret, password: 'bob-password', attributes: [{ name: 'User-Name', value: 'bob' }, { name: 'NAS-Port', value: 3 }] });
      const replies = readPackets(socket, 3);
      socket.write(Buffer.concat([a, b, c.subarray(0, 10)]));
      socket.write(c.subarray(10));
      const byId = new Map((await replies).map((r) => { const d = decodePacket(r); assert.ok(d.ok); return [d.packet.identifier, d.packet] as const; }));
      assert.equal(byId.get(1)?.code, 'Access-Accept');
      assert.equal(byId.get(2)?.code, 'Access-Reject');
      assert.equal(byId.get(3)?.code, 'Access-Accept');
      socket.destroy();
    });

    it('closes a connection whose framing is malformed, counts it, and goes on serving', async () => {
      const before = await metric(t, 'sideband_radius_dropped_total', 'cause="length-above-maximum"');
      const socket = await tlsClient(t.gateway.listen.radsec!, certs, nas);
      const closed = once(socket, 'close');
      socket.write(Buffer.from([1, 9, 0xff, 0xff, ...Buffer.alloc(16)]));
      await closed;
      assert.equal(await metric(t, 'sideband_radius_dropped_total', 'cause="length-above-maximum"'), before + 1);
      assert.ok((await metric(t, 'sideband_radsec_closed_total', 'cause="malformed-frame"')) >= 1);
      const auth = await radclient(proxy.udp, 'auth', proxy.secret, ['User-Name = bob, User-Password = "bob-password", Message-Authenticator = 0x00, NAS-Port = 8']);
      assert.equal(auth.replies[0]?.code, 'Access-Accept', auth.output);
    });

    for (const [what, which, outcome] of [
      ['an unregistered (self-signed) certificate', () => stranger, 'certificate-unregistered'],
      ['an expired certificate from the CA', () => expired, 'certificate-expired'],
    ] as const) {
      it(`refuses a client presenting ${what}, and counts it`, async () => {
        const before = await metric(t, 'sideband_radsec_connections_total', `outcome="${outcome}"`);
        const socket = await tlsClient(t.gateway.listen.radsec!, certs, which());
        const closed = once(socket, 'close');
        const answered: Buffer[] = [];
        socket.on('data', (d: Buffer) => answered.push(d));
        socket.on('error', () => undefined);
        socket.write(encodeAccessRequest({ identifier: 9, secret: Buffer.from('radsec'), password: 'bob-password', attributes: [{ name: 'User-Name', value: 'bob' }] }));
        await closed;
        assert.deepEqual(answered, [], 'nothing is answered');
        assert.equal(await metric(t, 'sideband_radsec_connections_total', `outcome="${outcome}"`), before + 1);
      });
    }
  });
}
