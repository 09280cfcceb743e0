import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialects } from '../../support/databases.ts';
import { haveRadclient, radclient, type RadclientReply } from '../../support/radclient.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const SECRET = 'radclient-shared-secret';

/** Acct attributes radclient should send for a session; Class ties it to the Accept. */
const acct = (status: string, login: string, session: string, cls: string, address: string, extra = ''): string =>
  `User-Name = ${login}, Acct-Status-Type = ${status}, Acct-Session-Id = ${session}, Class = ${cls}, Framed-IP-Address = ${address}, NAS-Port = 1, NAS-Identifier = bng-test${extra ? `, ${extra}` : ''}`;

const metric = async (t: TestGateway, name: string, labels: string): Promise<number> => {
  const text = await t.gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

for (const dialect of dialects) {
  describe(`RADIUS with radclient on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    let t: TestGateway;
    let auth: string;
    let acctServer: string;

    before(async () => {
      t = await startTestGateway(dialect, `radius-${dialect}`, { radius: { holdDownSeconds: 3600, maxFailures: 3, failureWindowSeconds: 60, interimIntervalSeconds: 120, staleSessionSeconds: 3600 } });
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/22' });
      await ctx.network.addPool({ name: 'tiny', cidr: '203.0.113.8/31' });
      await ctx.network.addNas({ name: 'bng-test', address: '127.0.0.1/32', secret: SECRET, pool: 'access' });
      await ctx.network.addNas({ name: 'bng-tiny', address: '127.0.0.2/32', secret: SECRET, pool: 'tiny' });
      await ctx.network.addNas({ name: 'bng-legacy', address: '127.0.0.3/32', secret: SECRET, pool: 'access', requireMessageAuthenticator: false });
      await ctx.subscribers.add({ login: 'alice', password: 'alice-password', seconds: 600 });
      await ctx.subscribers.add({ login: 'bob', password: 'bob-password' });
      await ctx.subscribers.add({ login: 'carol', password: 'carol-password' });
      await ctx.subscribers.add({ login: 'dora', password: 'dora-password', seconds: 0 });
      await t.gateway.authentication.nas.load();
      auth = t.gateway.listen.radiusAuth!;
      acctServer = t.gateway.listen.radiusAcct!;
    });
    after(async () => t?.dispose());

    const login = async (user: string, password: string, extra = 'NAS-Port = 1', method: 'pap' | 'chap' = 'pap'): Promise<RadclientReply> => {
      const cred = method === 'pap' ? `User-Password = "${password}"` : `CHAP-Password = "${password}"`;
      const run = await radclient(auth, 'auth', SECRET, [`User-Name = ${user}, ${cred}, Message-Authenticator = 0x00, ${extra}`]);
      assert.equal(run.replies.length, 1, run.output);
      return run.replies[0]!;
    };

    it('PAP and CHAP log-ins are accepted with an address, Session-Timeout, Acct-Interim-Interval and Class', async () => {
      const pap = await login('alice', 'alice-password');
      assert.equal(pap.code, 'Access-Accept');
      assert.match(pap.attributes['Framed-IP-Address']!, /^198\.51\.10[0-3]\.\d+$/);
      assert.equal(pap.attributes['Session-Timeout'], '600');
      assert.equal(pap.attributes['Acct-Interim-Interval'], '120');
      assert.match(pap.attributes.Class!, /^0x/);
      const chap = await login('bob', 'bob-password', 'NAS-Port = 2', 'chap');
      assert.equal(chap.code, 'Access-Accept');
      assert.equal(chap.attributes['Session-Timeout'], undefined, 'no quota, no Session-Timeout');
      assert.notEqual(chap.attributes['Framed-IP-Address'], pap.attributes['Framed-IP-Address']);
    });

    it('rejects with a Reply-Message for each cause, the same one for an unknown login and a wrong password', async () => {
      const wrong = await login('carol', 'not-her-password');
      assert.equal(wrong.code, 'Access-Reject');
      assert.match(wrong.attributes['Reply-Message']!, /AAA_CREDENTIALS_REJECTED/);
      const wrongChap = await login('carol', 'not-her-password', 'NAS-Port = 3', 'chap');
      assert.match(wrongChap.attributes['Reply-Message']!, /AAA_CREDENTIALS_REJECTED/);
      const unknown = await login('nobody', 'whatever-password');
      assert.equal(unknown.attributes['Reply-Message'], wrong.attributes['Reply-Message'], 'the NAS cannot tell an unknown login from a wrong password');
      // The operator's metrics keep the distinction.
      assert.ok((await metric(t, 'sideband_radius_requests_total', 'result="AAA_PASSWORD_WRONG"')) >= 2);
      assert.ok((await metric(t, 'sideband_radius_requests_total', 'result="AAA_LOGIN_UNKNOWN"')) >= 1);
      const exhausted = await login('dora', 'dora-password');
      assert.match(exhausted.attributes['Reply-Message']!, /AAA_QUOTA_EXHAUSTED/);
      await t.gateway.context.subscribers.suspend('bob');
      await sleep(1100); // the RADIUS side caches a subscriber for a second
      const suspended = await login('bob', 'bob-password', 'NAS-Port = 9');
      assert.match(suspended.attributes['Reply-Message']!, /AAA_SUBSCRIBER_SUSPENDED/);
      await t.gateway.context.subscribers.resume('bob');
      await sleep(1100);
    });

    it('throttles repeated failures for one login, even with the right password', async () => {
      for (let i = 0; i < 2; i++) await login('carol', 'guess-number-' + i);
      const blocked = await login('carol', 'carol-password');
      assert.match(blocked.attributes['Reply-Message']!, /AAA_THROTTLED/);
    });

    it('rejects when the pool is exhausted, naming the cause', async () => {
      const tiny = async (user: string, port: number) => {
        // Packet-Src-IP-Address makes radclient send from that loopback address: this NAS.
        const run = await radclient(auth, 'auth', SECRET, [`User-Name = ${user}, User-Password = "${user}-password", Message-Authenticator = 0x00, NAS-Port = ${port}, Packet-Src-IP-Address = 127.0.0.2`]);
        return run.replies[0]!;
      };
      // A /31 has two usable addresses (RFC 3021).
      const first = await tiny('alice', 11);
      assert.equal(first.code, 'Access-Accept', JSON.stringify(first));
      assert.equal((await tiny('bob', 12)).code, 'Access-Accept');
      const third = await tiny('alice', 13);
      assert.equal(third.code, 'Access-Reject');
      assert.match(third.attributes['Reply-Message']!, /AAA_POOL_EXHAUSTED/);
    });

    it('drops an Access-Request without Message-Authenticator unless the NAS is relaxed, and counts it', async () => {
      const before = await metric(t, 'sideband_radius_dropped_total', 'cause="message-authenticator-missing"');
      const strict = await radclient(auth, 'auth', SECRET, ['User-Name = alice, User-Password = "alice-password"'], { timeout: 1 });
      assert.equal(strict.replies.length, 0, 'no answer to an unsigned request');
      assert.equal(await metric(t, 'sideband_radius_dropped_total', 'cause="message-authenticator-missing"'), before + 1);
      const legacy = await radclient(auth, 'auth', SECRET, ['User-Name = alice, User-Password = "alice-password", NAS-Port = 30, Packet-Src-IP-Address = 127.0.0.3']);
      assert.equal(legacy.replies[0]?.code, 'Access-Accept');
      const wrongSecret = await radclient(auth, 'auth', 'not-the-shared-secret', ['User-Name = alice, User-Password = "alice-password", Message-Authenticator = 0x00'], { timeout: 1 });
      assert.equal(wrongSecret.replies.length, 0);
      assert.ok((await metric(t, 'sideband_radius_dropped_total', 'cause="message-authenticator-invalid"')) >= 1);
    });

    it('gives 1,000 concurrent log-ins 1,000 different addresses', async () => {
      const ctx = t.gateway.context;
      const logins = Array.from({ length: 1000 }, (_, i) => `user${String(i).padStart(4, '0')}`);
      for (const l of logins) await ctx.subscribers.add({ login: l, password: `${l}-password` });
      const run = await radclient(auth, 'auth', SECRET, logins.map((l, i) => `User-Name = ${l}, User-Password = "${l}-password", Message-Authenticator = 0x00, NAS-Port = ${1000 + i}`), { parallel: 1000, timeout: 10, retries: 3 });
      const accepted = run.replies.filter((r) => r.code === 'Access-Accept');
      assert.equal(accepted.length, 1000, run.output.slice(-2000));
      const addresses = new Set(accepted.map((r) => r.attributes['Framed-IP-Address']));
      assert.equal(addresses.size, 1000, 'every concurrent session has its own address');
      const open = await ctx.store.db.selectFrom('bindings').select('address').where('end_at', 'is', null).execute();
      assert.equal(new Set(open.map((b) => b.address)).size, open.length, 'the store holds no address twice');
    });

    it('records Start, Interim-Update and Stop, charges prepaid time, frees the address, and resolves before, during and after', async () => {
      const ctx = t.gateway.context;
      await ctx.subscribers.add({ login: 'erin', password: 'erin-password', seconds: 3600 });
      const tBefore = new Date().toISOString();
      await sleep(20);
      const accept = await login('erin', 'erin-password', 'NAS-Port = 77');
      const address = accept.attributes['Framed-IP-Address']!;
      const cls = accept.attributes.Class!;
      // Only the Start names the caller's station: the reports after it, without it, must keep it.
      let run = await radclient(acctServer, 'acct', SECRET, [acct('Start', 'erin', 'erin-1', cls, address, 'Calling-Station-Id = "02-00-00-00-00-09"')]);
      assert.equal(run.replies[0]?.code, 'Accounting-Response', run.output);
      const during = new Date().toISOString();
      run = await radclient(acctServer, 'acct', SECRET, [acct('Interim-Update', 'erin', 'erin-1', cls, address, 'Acct-Session-Time = 60, Acct-Input-Octets = 5, Acct-Input-Gigawords = 1, Acct-Output-Octets = 7')]);
      assert.equal(run.replies[0]?.code, 'Accounting-Response');
      let session = await ctx.store.db.selectFrom('sessions').selectAll().where('acct_session_id', '=', 'erin-1').executeTakeFirstOrThrow();
      assert.equal(session.status, 'active');
      assert.equal(session.input_octets, 2 ** 32 + 5, 'gigawords count 2^32 wraps');
      assert.equal(session.output_octets, 7);
      assert.equal(session.nas_identifier, 'bng-test');
      assert.equal(session.nas_port, 1, 'the port accounting reports, not the log-in\'s 77');
      assert.equal(session.calling_station_id, '02-00-00-00-00-09', 'an Interim-Update without Calling-Station-Id keeps it');
      await sleep(20);
      run = await radclient(acctServer, 'acct', SECRET, [acct('Stop', 'erin', 'erin-1', cls, address, 'Acct-Session-Time = 125, Acct-Terminate-Cause = User-Request')]);
      assert.equal(run.replies[0]?.code, 'Accounting-Response');
      await sleep(20);
      const tAfter = new Date().toISOString();
      session = await ctx.store.db.selectFrom('sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
      assert.equal(session.status, 'closed');
      assert.equal(session.session_time, 125);
      assert.equal(session.terminate_cause, 'User-Request');
      assert.equal(session.nas_identifier, 'bng-test');
      assert.equal(session.calling_station_id, '02-00-00-00-00-09');
      assert.equal((await ctx.subscribers.show('erin')).secondsRemaining, 3600 - 125);

      const q = (at: string) => t.operator(`/v1/resolve?address=${address}&at=${encodeURIComponent(at)}`);
      assert.equal((await q(tBefore)).status, 404);
      const hit = await q(during);
      assert.equal(hit.status, 200, JSON.stringify(hit.body));
      const body = hit.body as { subscriber: { login: string }; session: { id: string; nas: string }; binding: { start: string; end: string } };
      assert.equal(body.subscriber.login, 'erin');
      assert.equal(body.session.id, session.id);
      assert.equal(body.session.nas, 'bng-test');
      assert.ok(body.binding.end, 'the binding has ended');
      const gone = await q(tAfter);
      assert.equal(gone.status, 404);
      assert.equal((gone.body as { error: { code: string } }).error.code, 'RESOLVE_NOT_FOUND');

      // The same subscriber back on the same NAS port gets the same address; hold-down
      // keeps it from anybody else.
      const back = await login('erin', 'erin-password', 'NAS-Port = 77');
      assert.equal(back.attributes['Framed-IP-Address'], address);
    });

    it('records a session it never authenticated (the NAS chose the address)', async () => {
      const run = await radclient(acctServer, 'acct', SECRET, ['User-Name = frank, Acct-Status-Type = Start, Acct-Session-Id = nas-own-1, Framed-IP-Address = 192.0.2.77, NAS-Port = 5']);
      assert.equal(run.replies[0]?.code, 'Accounting-Response');
      const r = await t.operator('/v1/resolve?address=192.0.2.77');
      assert.equal(r.status, 200);
      assert.equal((r.body as { subscriber: { login: string; id: string | null } }).subscriber.login, 'frank');
    });

    it('Accounting-On closes every open session of that NAS and frees their addresses', async () => {
      const ctx = t.gateway.context;
      const open = async () => (await ctx.store.db.selectFrom('sessions').select('id').where('status', '!=', 'closed').where('nas_id', '=', (await ctx.network.listNas()).find((n) => n.name === 'bng-test')!.id).execute()).length;
      assert.ok((await open()) > 1000);
      const run = await radclient(acctServer, 'acct', SECRET, ['Acct-Status-Type = Accounting-On, NAS-Identifier = bng-test'], { timeout: 20 });
      assert.equal(run.replies[0]?.code, 'Accounting-Response', run.output);
      assert.equal(await open(), 0);
      const nasId = (await ctx.network.listNas()).find((n) => n.name === 'bng-test')!.id;
      const stillOpen = await ctx.store.db.selectFrom('bindings').innerJoin('sessions', 'sessions.id', 'bindings.session_id').select('bindings.id').where('bindings.end_at', 'is', null).where('sessions.nas_id', '=', nasId).executeTakeFirst();
      assert.equal(stillOpen, undefined);
    });

    it('answers Status-Server (RFC 5997) on both ports, and only when signed', async () => {
      const auth = await radclient(t.gateway.listen.radiusAuth!, 'status', SECRET, ['Message-Authenticator = 0x00']);
      assert.equal(auth.replies[0]?.code, 'Access-Accept', auth.output);
      const acct = await radclient(acctServer, 'status', SECRET, ['Message-Authenticator = 0x00']);
      assert.equal(acct.replies[0]?.code, 'Accounting-Response', acct.output);
      const unsigned = await radclient(t.gateway.listen.radiusAuth!, 'status', SECRET, ['NAS-Identifier = probe'], { timeout: 1 });
      assert.equal(unsigned.replies.length, 0);
    });

    it('answers Accounting-Requests with a bad authenticator with silence', async () => {
      const run = await radclient(acctServer, 'acct', 'another-secret-entirely', ['User-Name = x, Acct-Status-Type = Start, Acct-Session-Id = forged'], { timeout: 1 });
      assert.equal(run.replies.length, 0);
      assert.ok((await metric(t, 'sideband_radius_dropped_total', 'cause="request-authenticator-invalid"')) >= 1);
    });
  });
}
