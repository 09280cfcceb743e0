import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamicAuthorizationView } from '../../../src/aaa/service/dynamic-authorization-queue.ts';
import { dialects } from '../../support/databases.ts';
import { haveRadclient, radclient } from '../../support/radclient.ts';
import { runCli } from '../../support/run-cli.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';
import { haveTshark, requestAuthenticatorOf, TestNas, type ReceivedRequest } from '../../support/test-nas.ts';

const SECRET = 'dynamic-authorization-secret';

const metric = async (t: TestGateway, name: string, labels: string): Promise<number> => {
  const text = await t.gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

const skip = !haveRadclient ? 'radclient missing (apt-get install freeradius-utils)' : !haveTshark ? 'tshark missing (apt-get install tshark)' : false;

for (const dialect of dialects) {
  describe(`Disconnect and CoA (RFC 5176) to a test NAS on ${dialect}`, { skip }, () => {
    let t: TestGateway;
    let nas: TestNas;
    let pcaps: string;
    let g: string[];
    let port = 0;

    before(async () => {
      nas = await new TestNas(SECRET).start();
      pcaps = mkdtempSync(join(tmpdir(), 'sideband-coa-'));
      t = await startTestGateway(dialect, `coa-${dialect}`, { radius: { holdDownSeconds: 0, dynamicAuthorization: { timeoutMs: 200, attempts: 3, pollMs: 50 } } });
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
      await ctx.network.addPool({ name: 'coa-links', cidr: '2001:db8:ff00::/48', prefixLength: 64 });
      await ctx.network.addPool({ name: 'coa-homes', cidr: '2001:db8:100::/40', prefixLength: 56 });
      await ctx.network.addNas({ name: 'bng-coa', address: '127.0.0.1/32', secret: SECRET, pool: 'access', framedIpv6Pool: 'coa-links', delegatedIpv6Pool: 'coa-homes', coaPort: nas.port });
      await t.gateway.authentication.nas.load();
      g = ['--data-dir', t.database.dataDir, ...(t.database.databaseUrl ? ['--database-url', t.database.databaseUrl] : [])];
    });
    after(async () => {
      await t?.dispose();
      await nas?.close();
      rmSync(pcaps, { recursive: true, force: true });
    });

    /** A log-in and an Accounting Start through radclient, as a NAS sends them; returns the session id. */
    const session = async (login: string, seconds: number | null = null, extra = ''): Promise<string> => {
      await t.gateway.context.subscribers.add({ login, password: `${login}-password`, seconds });
      port++;
      const auth = await radclient(t.gateway.listen.radiusAuth!, 'auth', SECRET, [`User-Name = ${login}, User-Password = "${login}-password", Message-Authenticator = 0x00, NAS-Port = ${port}, NAS-IP-Address = 127.0.0.1, NAS-Identifier = bng-coa${extra}`]);
      assert.equal(auth.replies[0]?.code, 'Access-Accept', auth.output);
      const { Class: cls, 'Framed-IP-Address': address } = auth.replies[0]!.attributes;
      const start = await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, [`User-Name = ${login}, Acct-Status-Type = Start, Acct-Session-Id = ${login}-1, Class = ${cls}, Framed-IP-Address = ${address}, NAS-Port = ${port}, NAS-IP-Address = 127.0.0.1, NAS-Identifier = bng-coa`]);
      assert.equal(start.replies[0]?.code, 'Accounting-Response', start.output);
      return (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', `${login}-1`).executeTakeFirstOrThrow()).id;
    };

    const post = async (path: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`http://${t.gateway.listen.operatorHttp}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.token}` } });
      return { status: res.status, body: await res.json() };
    };

    /** Resolves when the gateway has recorded the outcome of request `id` (listening first, then reading the store). */
    const recorded = (id: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const events = t.gateway.authentication.dynamicAuthorization.events;
        const on = (done: string, status: string): void => {
          if (done !== id) return;
          events.off('recorded', on);
          resolve(status);
        };
        events.on('recorded', on);
        t.gateway.context.sessions.waitFor(id, 0).then((v) => {
          if (v.status === 'pending' || v.status === 'sending') return;
          events.off('recorded', on);
          resolve(v.status);
        }, reject);
      });

    const history = async (sessionId: string): Promise<DynamicAuthorizationView[]> => {
      const r = await t.operator(`/v1/sessions/${sessionId}`);
      assert.equal(r.status, 200);
      return (r.body as { dynamicAuthorizations: DynamicAuthorizationView[] }).dynamicAuthorizations;
    };

    /** The request verified with the shared secret by our codec, and decoded the same by tshark. */
    const checkIndependently = (r: ReceivedRequest, name: string, expected: Record<string, string>): string => {
      assert.ok(r.requestAuthenticatorValid, 'Request Authenticator as for Accounting-Request (RFC 5176 §2.3)');
      assert.equal(r.messageAuthenticator, 'valid', 'Message-Authenticator (RFC 5176 §3.1)');
      assert.equal(r.packet.offsetOf(80), 20, 'Message-Authenticator first');
      const file = join(pcaps, `${name}.pcap`);
      nas.pcap(file, [r]);
      const text = nas.tshark(file);
      assert.match(text, new RegExp(`Code: ${r.packet.code} \\(${r.raw[0]}\\)`), text);
      assert.match(text, /AVP: t=Message-Authenticator\(80\) l=18/);
      for (const [attribute, value] of Object.entries(expected)) assert.match(text, new RegExp(`AVP: t=${attribute}\\(\\d+\\) l=\\d+ val=${value.replace(/[.]/g, '\\.')}\\n`), `${attribute} = ${value} in\n${text}`);
      return text;
    };

    it('a suspension through the operator API sends a Disconnect-Request the NAS acknowledges, recorded in the session\'s history', async () => {
      const id = await session('alice');
      const address = (await t.gateway.context.sessions.show(id)).bindings[0]!.address;
      nas.behaviour = { answer: 'ack' };
      const seen = nas.received.length;
      const r = await post('/v1/subscribers/alice/suspend');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const queued = (r.body as { status: string; dynamicAuthorizations: DynamicAuthorizationView[] });
      assert.equal(queued.status, 'suspended');
      assert.equal(queued.dynamicAuthorizations.length, 1);
      const request = queued.dynamicAuthorizations[0]!;
      assert.equal(request.request, 'Disconnect-Request');
      assert.equal(request.requestedBy, 'operator:test');

      const received = await nas.nextRequest(seen);
      assert.equal(received.packet.code, 'Disconnect-Request');
      checkIndependently(received, `suspend-${dialect}`, { 'User-Name': 'alice', 'Acct-Session-Id': 'alice-1', 'Framed-IP-Address': address, 'NAS-IP-Address': '127.0.0.1', 'NAS-Identifier': 'bng-coa' });

      assert.equal(await recorded(request.id), 'ack');
      const [entry] = await history(id);
      assert.equal(entry!.status, 'ack');
      assert.equal(entry!.reason, 'subscriber-suspended');
      assert.equal(entry!.destination, `127.0.0.1:${nas.port}`);
      // One send, unless a busy machine let the first timeout pass before the ACK was read.
      assert.ok(entry!.attempts >= 1);
      assert.ok((await metric(t, 'sideband_radius_dynamic_authorization_total', 'outcome="ack"')) >= 1);
    });

    it('`sideband session disconnect --wait` prints the NAK and its Error-Cause, and the history keeps it', async () => {
      const id = await session('bob');
      nas.behaviour = { answer: 'nak', errorCause: 'Session-Context-Not-Found' };
      const seen = nas.received.length;
      // The command line has no RADIUS socket: it queues, and the gateway holding the job sends.
      const r = await runCli([...g, 'session', 'disconnect', id, '--wait', '--wait-seconds', '20']);
      assert.equal(r.code, 68, `exit code of a declined request\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /DYNAMIC_AUTHORIZATION_NAK/);
      assert.match(r.stderr, /Error-Cause 503 Session-Context-Not-Found/);
      assert.equal((await nas.nextRequest(seen)).packet.text('Acct-Session-Id'), 'bob-1');
      const [entry] = await history(id);
      assert.equal(entry!.status, 'nak');
      assert.deepEqual(entry!.errorCause, { value: 503, name: 'Session-Context-Not-Found' });
      assert.equal(entry!.requestedBy, 'cli');
      const shown = await runCli([...g, 'session', 'show', id]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /Disconnect-Request \(operator-disconnect, by cli at [^)]+\)\s+nak Error-Cause 503 Session-Context-Not-Found/);
    });

    it('an acknowledged disconnect through the command line exits 0 and prints the ACK', async () => {
      const id = await session('carol');
      nas.behaviour = { answer: 'ack' };
      const r = await runCli([...g, '--json', 'session', 'disconnect', id, '--wait']);
      assert.equal(r.code, 0, r.stderr);
      const view = JSON.parse(r.stdout) as DynamicAuthorizationView;
      assert.equal(view.status, 'ack');
      assert.equal(view.sessionId, id);
    });

    it('a NAS that stays silent gets the same datagram three times, with backoff, and the outcome is "timeout"', async () => {
      const id = await session('dave');
      nas.behaviour = { answer: 'silence' };
      const seen = nas.received.length;
      const r = await post(`/v1/sessions/${id}/disconnect`);
      assert.equal(r.status, 202, 'the operator does not wait on the NAS');
      const queued = r.body as DynamicAuthorizationView;
      assert.ok(queued.status === 'sending' || queued.status === 'pending');
      assert.equal(await recorded(queued.id), 'timeout');
      const sent = nas.received.slice(seen);
      assert.equal(sent.length, 3);
      // RFC 5080 §2.2.1: a retransmission keeps the Identifier and the Request Authenticator.
      for (const again of sent.slice(1)) assert.deepEqual(again.raw, sent[0]!.raw);
      assert.deepEqual(requestAuthenticatorOf(sent[2]!.raw), requestAuthenticatorOf(sent[0]!.raw));
      const [entry] = await history(id);
      assert.equal(entry!.status, 'timeout');
      assert.equal(entry!.attempts, 3);
      assert.equal(entry!.detail?.code, 'DYNAMIC_AUTHORIZATION_NO_ANSWER');
    });

    it('a forged answer (wrong authenticator) is ignored and counted; the real ACK that follows counts', async () => {
      const id = await session('erin');
      const ignoredBefore = await metric(t, 'sideband_radius_dynamic_authorization_ignored_total', 'cause="response-authenticator-invalid"');
      nas.behaviour = { answer: 'forged-then-ack' };
      const r = await post(`/v1/sessions/${id}/disconnect`);
      assert.equal(await recorded((r.body as DynamicAuthorizationView).id), 'ack');
      assert.equal(await metric(t, 'sideband_radius_dynamic_authorization_ignored_total', 'cause="response-authenticator-invalid"'), ignoredBefore + 1);

      const forgedOnly = await session('frank');
      nas.behaviour = { answer: 'forged' };
      const f = await post(`/v1/sessions/${forgedOnly}/disconnect`);
      assert.equal(await recorded((f.body as DynamicAuthorizationView).id), 'timeout', 'a forgery never passes for an answer');
      const [entry] = await history(forgedOnly);
      assert.equal(entry!.detail?.ignoredAnswers, 3);
    });

    it('fewer prepaid seconds send a CoA-Request with the Session-Timeout left; none left sends a Disconnect-Request', async () => {
      const id = await session('gina', 3600);
      nas.behaviour = { answer: 'ack' };
      let seen = nas.received.length;
      const lower = await runCli([...g, '--json', 'subscriber', 'set-limit', 'gina', '--seconds', '600']);
      assert.equal(lower.code, 0, lower.stderr);
      const [coa] = (JSON.parse(lower.stdout) as { dynamicAuthorizations: DynamicAuthorizationView[] }).dynamicAuthorizations;
      assert.equal(coa!.request, 'CoA-Request');
      assert.ok(coa!.sessionTimeout! <= 600 && coa!.sessionTimeout! > 590, `Session-Timeout ${coa!.sessionTimeout}`);
      const received = await nas.nextRequest(seen);
      assert.equal(received.packet.code, 'CoA-Request');
      checkIndependently(received, `coa-${dialect}`, { 'Session-Timeout': String(coa!.sessionTimeout), 'Acct-Session-Id': 'gina-1' });
      assert.equal(await recorded(coa!.id), 'ack');

      seen = nas.received.length;
      const none = await runCli([...g, '--json', 'subscriber', 'set-limit', 'gina', '--seconds', '0']);
      const [disconnect] = (JSON.parse(none.stdout) as { dynamicAuthorizations: DynamicAuthorizationView[] }).dynamicAuthorizations;
      assert.equal(disconnect!.request, 'Disconnect-Request');
      assert.equal((await nas.nextRequest(seen)).packet.code, 'Disconnect-Request');
      assert.equal(await recorded(disconnect!.id), 'ack');
      assert.deepEqual((await history(id)).map((d) => [d.request, d.reason, d.status]), [['CoA-Request', 'prepaid-seconds', 'ack'], ['Disconnect-Request', 'prepaid-seconds', 'ack']]);
    });

    it('a Stop that uses up shared prepaid seconds sends the subscriber\'s other session a CoA-Request with what is left', async () => {
      const first = await session('iris', 1000);
      // A second session of hers on another port, granted the same 1000 s.
      port++;
      const auth = await radclient(t.gateway.listen.radiusAuth!, 'auth', SECRET, [`User-Name = iris, User-Password = "iris-password", Message-Authenticator = 0x00, NAS-Port = ${port}, NAS-IP-Address = 127.0.0.1`]);
      assert.equal(auth.replies[0]?.attributes['Session-Timeout'], '1000');
      const second = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('login', '=', 'iris').where('id', '!=', first).executeTakeFirstOrThrow()).id;
      nas.behaviour = { answer: 'ack' };
      const seen = nas.received.length;
      const stop = await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, ['User-Name = iris, Acct-Status-Type = Stop, Acct-Session-Id = iris-1, Acct-Session-Time = 700, NAS-IP-Address = 127.0.0.1']);
      assert.equal(stop.replies[0]?.code, 'Accounting-Response', stop.output);
      const received = await nas.nextRequest(seen);
      assert.equal(received.packet.code, 'CoA-Request');
      assert.equal(received.packet.text('User-Name'), 'iris');
      const timeout = received.packet.integer('Session-Timeout')!;
      assert.ok(timeout <= 300 && timeout > 290, `Session-Timeout ${timeout}: 1000 s less the 700 charged`);
      const [entry] = await history(second);
      assert.equal(await recorded(entry!.id), 'ack');
      assert.equal(entry!.requestedBy, 'radius');
    });

    it('a Disconnect-Request for a dual-stack session names it by Framed-IPv6-Prefix and Framed-Interface-Id too, never by Delegated-IPv6-Prefix (RFC 5176 §3)', async () => {
      const id = await session('dora', null, ', Framed-Interface-Id = 0211:2233:4455:6677');
      const shown = await t.gateway.context.store.db.selectFrom('prefix_bindings').select(['kind', 'network', 'prefix_length']).where('session_id', '=', id).execute();
      const framed = shown.find((p) => p.kind === 'framed-ipv6-prefix')!;
      nas.behaviour = { answer: 'ack' };
      const seen = nas.received.length;
      const r = await post(`/v1/sessions/${id}/disconnect`);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const received = await nas.nextRequest(seen);
      assert.equal(received.packet.code, 'Disconnect-Request');
      const text = checkIndependently(received, `dual-stack-${dialect}`, { 'User-Name': 'dora', 'Acct-Session-Id': 'dora-1', 'Framed-IPv6-Prefix': `${framed.network}/${framed.prefix_length}`, 'Framed-Interface-Id': '0211223344556677' });
      assert.doesNotMatch(text, /Delegated-IPv6-Prefix/);
      assert.equal(await recorded((r.body as { id: string }).id), 'ack');
    });

    it('refuses to disconnect a closed or unknown session, writing nothing', async () => {
      const id = await session('hank');
      const stop = await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, ['User-Name = hank, Acct-Status-Type = Stop, Acct-Session-Id = hank-1, NAS-Port = 99, Acct-Session-Time = 5, NAS-IP-Address = 127.0.0.1']);
      assert.equal(stop.replies[0]?.code, 'Accounting-Response', stop.output);
      const closed = await post(`/v1/sessions/${id}/disconnect`);
      assert.equal(closed.status, 409);
      assert.equal((closed.body as { error: { code: string } }).error.code, 'SESSION_CLOSED');
      const unknown = await runCli([...g, 'session', 'disconnect', 'ses_NOSUCHSESSION']);
      assert.equal(unknown.code, 66);
      assert.match(unknown.stderr, /SESSION_NOT_FOUND/);
      assert.deepEqual(await history(id), []);
    });
  });
}
