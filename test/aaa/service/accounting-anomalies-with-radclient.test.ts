import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects, type TestDialect } from '../../support/databases.ts';
import { haveRadclient, radclient, type RadclientReply } from '../../support/radclient.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

// What a real NAS sends when things go wrong, through FreeRADIUS's radclient: accounting
// late, duplicated, reordered, without its Start, buffered for a night and replayed, and
// log-ins retried on one port; with the answers docs/radius.md promises for each.

const SECRET = 'anomalies-shared-secret';

interface SessionView {
  id: string;
  status: string;
  login: string;
  startedAt: string | null;
  endedAt: string | null;
  sessionTime: number;
  inputOctets: number;
  terminateCause: string | null;
  closedBy: string | null;
  chargedSeconds: number;
  bindings: Array<{ address: string; start: string; end: string | null }>;
  anomalies: Array<{ kind: string; otherSessionId: string | null }>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const sessionOfClass = (hex: string) => Buffer.from(hex.slice(2), 'hex').toString('utf8').slice('sideband:'.length);

const metric = async (t: TestGateway, name: string, labels: string): Promise<number> => {
  const text = await t.gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

async function gatewayFor(dialect: TestDialect, name: string, addressConflict: 'trust-nas' | 'refuse'): Promise<TestGateway> {
  const t = await startTestGateway(dialect, name, { radius: { holdDownSeconds: 3600, staleSessionSeconds: 3600, maxFailures: 2, failureWindowSeconds: 600, addressConflict } });
  const ctx = t.gateway.context;
  await ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
  await ctx.network.addPool({ name: 'tiny', cidr: '203.0.113.8/31' });
  await ctx.network.addNas({ name: 'bng', address: '127.0.0.1/32', secret: SECRET, pool: 'access' });
  await ctx.network.addNas({ name: 'bng-tiny', address: '127.0.0.2/32', secret: SECRET, pool: 'tiny' });
  await ctx.network.addNas({ name: 'bng-east', address: '127.0.0.3/32', secret: SECRET, pool: 'access' });
  // A NAS that hands out its own addresses: its Access-Accepts carry none.
  await ctx.network.addNas({ name: 'bng-own', address: '127.0.0.4/32', secret: SECRET });
  await t.gateway.authentication.nas.load();
  return t;
}

for (const dialect of dialects) {
  describe(`late, duplicate and reordered accounting and retried log-ins, with radclient, on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    let t: TestGateway;

    before(async () => {
      t = await gatewayFor(dialect, `anomalies-${dialect}`, 'trust-nas');
      for (const login of ['erin', 'fred', 'gina', 'hugo', 'ivy', 'jack', 'kate', 'liam', 'mona', 'nina', 'oleg', 'pia', 'rob', 'tess', 'vera', 'walt', 'xena', 'yuri']) await t.gateway.context.subscribers.add({ login, password: `${login}-password`, seconds: 36_000 });
    });
    after(async () => t?.dispose());

    const login = async (user: string, extra: string, from = '127.0.0.1'): Promise<RadclientReply> => {
      const run = await radclient(t.gateway.listen.radiusAuth!, 'auth', SECRET, [`User-Name = ${user}, User-Password = "${user}-password", Message-Authenticator = 0x00, Packet-Src-IP-Address = ${from}, ${extra}`]);
      assert.equal(run.replies.length, 1, run.output);
      return run.replies[0]!;
    };
    /** Sends accounting records one after another, as a NAS draining its queue; every one must be answered. */
    const account = async (records: string[]): Promise<void> => {
      const run = await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, records);
      assert.equal(run.replies.filter((r) => r.code === 'Accounting-Response').length, records.length, run.output);
    };
    const session = async (id: string): Promise<SessionView> => {
      const r = await t.operator(`/v1/sessions/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as SessionView;
    };
    const remaining = async (login: string) => (await t.gateway.context.subscribers.show(login)).secondsRemaining;
    const resolve = (address: string, at: number) => t.operator(`/v1/resolve?address=${address}&at=${encodeURIComponent(iso(at))}`);
    const pooled = (tx: RadclientReply) => ({ address: tx.attributes['Framed-IP-Address']!, cls: tx.attributes.Class!, id: sessionOfClass(tx.attributes.Class!) });

    describe('late and duplicate accounting never resurrects a session', () => {
      it('an Interim-Update after the Stop is acknowledged as late, keeps the session closed and its address free, and is never billed', async () => {
        const s = pooled(await login('erin', 'NAS-Port = 10'));
        const ts = nowSeconds();
        const base = `User-Name = erin, Acct-Session-Id = erin-1, Framed-IP-Address = ${s.address}, NAS-Port = 10`;
        await account([
          `${base}, Class = ${s.cls}, Acct-Status-Type = Start, Event-Timestamp = ${ts - 120}`,
          `${base}, Class = ${s.cls}, Acct-Status-Type = Stop, Event-Timestamp = ${ts}, Acct-Session-Time = 120, Acct-Terminate-Cause = User-Request`,
          // The Interim overtaken by its Stop; once with Class, once found by Acct-Session-Id alone.
          `${base}, Class = ${s.cls}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts - 60}, Acct-Session-Time = 60`,
          `${base}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts - 30}, Acct-Session-Time = 90`,
        ]);
        const v = await session(s.id);
        assert.equal(v.status, 'closed');
        assert.equal(v.sessionTime, 120);
        assert.deepEqual(v.anomalies.map((a) => a.kind), ['late-interim', 'late-interim']);
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), undefined, 'the address was not taken back');
        assert.equal((await resolve(s.address, ts + 1)).status, 404);
        const sessions = await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'erin-1').execute();
        assert.equal(sessions.length, 1, 'no ghost session');
        assert.equal(await remaining('erin'), 36_000 - 120);
        // Hours later, the sweeper finds nothing of it to bill.
        await t.gateway.authentication.sessions.sweep(3_600_000, Date.now() + 5 * 3_600_000);
        assert.equal(await remaining('erin'), 36_000 - 120);
        assert.ok((await metric(t, 'sideband_radius_accounting_anomalies_total', 'kind="late-interim"')) >= 2);
      });

      it('a Stop retransmitted with a new Acct-Delay-Time charges prepaid time once', async () => {
        const s = pooled(await login('fred', 'NAS-Port = 11'));
        const base = `User-Name = fred, Acct-Session-Id = fred-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 11`;
        await account([`${base}, Acct-Status-Type = Start`]);
        const stop = `${base}, Acct-Status-Type = Stop, Acct-Session-Time = 300, Acct-Terminate-Cause = Lost-Carrier`;
        await account([`${stop}, Acct-Delay-Time = 0`, `${stop}, Acct-Delay-Time = 4`, `${stop}, Acct-Delay-Time = 9`]);
        const v = await session(s.id);
        assert.equal(v.chargedSeconds, 300);
        assert.equal(await remaining('fred'), 36_000 - 300);
        assert.deepEqual(v.anomalies.map((a) => a.kind), ['duplicate-stop', 'duplicate-stop']);
        assert.equal(v.terminateCause, 'Lost-Carrier');
      });

      it('a Stop before its Start closes the session from the start it reports; the Start after it is late', async () => {
        const s = pooled(await login('gina', 'NAS-Port = 12'));
        const ts = nowSeconds();
        const base = `User-Name = gina, Acct-Session-Id = gina-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 12`;
        await account([`${base}, Acct-Status-Type = Stop, Event-Timestamp = ${ts}, Acct-Session-Time = 45, Acct-Terminate-Cause = User-Request`]);
        let v = await session(s.id);
        assert.equal(v.status, 'closed');
        assert.equal(v.startedAt, iso(ts - 45));
        assert.equal(v.endedAt, iso(ts));
        assert.equal(v.chargedSeconds, 45);
        await account([`${base}, Acct-Status-Type = Start, Event-Timestamp = ${ts - 45}`]);
        v = await session(s.id);
        assert.equal(v.status, 'closed', 'a Start after its Stop does not reopen it');
        assert.deepEqual(v.anomalies.map((a) => a.kind), ['stop-without-start', 'late-start']);
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), undefined);
        assert.equal(await remaining('gina'), 36_000 - 45);
      });

      it('the same for a session the NAS allocated itself: the Stop records its history, the late Start adds no ghost', async () => {
        const ts = nowSeconds();
        const base = 'User-Name = hugo, Acct-Session-Id = nas-hugo-1, Framed-IP-Address = 192.0.2.21, NAS-Port = 13';
        await account([`${base}, Acct-Status-Type = Stop, Event-Timestamp = ${ts - 10}, Acct-Session-Time = 600`, `${base}, Acct-Status-Type = Start, Event-Timestamp = ${ts - 610}`]);
        const rows = await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-hugo-1').execute();
        assert.equal(rows.length, 1, 'one session, not a ghost beside it');
        const hit = await resolve('192.0.2.21', ts - 300);
        assert.equal(hit.status, 200, JSON.stringify(hit.body));
        assert.equal((hit.body as { session: { id: string } }).session.id, rows[0]!.id);
        assert.equal((await resolve('192.0.2.21', ts - 5)).status, 404);
        assert.deepEqual((await session(rows[0]!.id)).anomalies.map((a) => a.kind), ['stop-without-start', 'late-start']);
        assert.equal(await remaining('hugo'), 36_000 - 600);
      });

      it('a lost Start: the first Interim-Update starts the session at its time less its session time', async () => {
        const s = pooled(await login('ivy', 'NAS-Port = 14'));
        const ts = nowSeconds();
        const base = `User-Name = ivy, Acct-Session-Id = ivy-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 14`;
        await account([`${base}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts}, Acct-Session-Time = 2, Acct-Input-Octets = 900`]);
        let v = await session(s.id);
        assert.equal(v.status, 'active');
        assert.equal(v.startedAt, iso(ts - 2));
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), s.id, 'it keeps its address');
        // Reordered Interims: the older one cannot roll the counters back.
        await account([`${base}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts}, Acct-Session-Time = 9, Acct-Input-Octets = 5000`, `${base}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts}, Acct-Session-Time = 5, Acct-Input-Octets = 2500`]);
        v = await session(s.id);
        assert.deepEqual([v.sessionTime, v.inputOctets], [9, 5000]);
        await account([`${base}, Acct-Status-Type = Stop, Event-Timestamp = ${ts}, Acct-Session-Time = 10, Acct-Terminate-Cause = User-Request`]);
        v = await session(s.id);
        assert.equal(v.status, 'closed');
        assert.deepEqual(v.anomalies.map((a) => a.kind), ['interim-without-start']);
        // A NAS-allocated session seen first by its Interim is dated the same way.
        await account([`User-Name = jack, Acct-Session-Id = nas-jack-1, Framed-IP-Address = 192.0.2.22, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts}, Acct-Session-Time = 300`]);
        const hit = await resolve('192.0.2.22', ts - 200);
        assert.equal(hit.status, 200, 'held from the start the Interim reports');
        assert.equal((await resolve('192.0.2.22', ts - 301)).status, 404);
      });

      it('a Stop after the sweeper closed the session corrects the guess and charges the rest, once', async () => {
        const s = pooled(await login('kate', 'NAS-Port = 15'));
        const ts = nowSeconds();
        const base = `User-Name = kate, Acct-Session-Id = kate-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 15`;
        await account([`${base}, Acct-Status-Type = Start, Event-Timestamp = ${ts - 5}`, `${base}, Acct-Status-Type = Interim-Update, Event-Timestamp = ${ts - 2}, Acct-Session-Time = 3`]);
        await t.gateway.authentication.sessions.sweep(3_600_000, Date.now() + 2 * 3_600_000);
        let v = await session(s.id);
        assert.equal(v.closedBy, 'sweeper');
        assert.equal(v.terminateCause, 'Sideband-Stale (charged 3 s: the last reported session time)');
        assert.equal(await remaining('kate'), 36_000 - 3, 'the sweeper charged what the NAS reported, not two hours');
        await account([`${base}, Acct-Status-Type = Stop, Event-Timestamp = ${ts}, Acct-Session-Time = 5, Acct-Terminate-Cause = User-Request`]);
        await account([`${base}, Acct-Status-Type = Stop, Event-Timestamp = ${ts}, Acct-Session-Time = 5, Acct-Terminate-Cause = User-Request, Acct-Delay-Time = 3`]);
        v = await session(s.id);
        assert.deepEqual([v.closedBy, v.terminateCause, v.chargedSeconds, v.endedAt], ['stop', 'User-Request', 5, iso(ts)]);
        // Event-Timestamp counts whole seconds: the binding, begun at the Accept, cannot end before it began.
        assert.equal(v.bindings[0]!.end, new Date(Math.max(ts * 1000, Date.parse(v.bindings[0]!.start))).toISOString(), 'the binding ends where the NAS says, not at the sweep');
        assert.deepEqual(v.anomalies.map((a) => a.kind), ['late-stop', 'duplicate-stop']);
        assert.equal(await remaining('kate'), 36_000 - 5);
      });
    });

    describe('one session per NAS port, one address per session', () => {
      it('a log-in retried on the same NAS port before its Start gets the same address and Class back, so retries cannot drain the pool', async () => {
        const first = await login('liam', 'NAS-Port = 21', '127.0.0.2');
        assert.equal(first.code, 'Access-Accept', JSON.stringify(first));
        for (let i = 0; i < 4; i++) {
          const again = await login('liam', 'NAS-Port = 21', '127.0.0.2');
          assert.deepEqual([again.attributes['Framed-IP-Address'], again.attributes.Class], [first.attributes['Framed-IP-Address'], first.attributes.Class]);
        }
        // A /31 holds two: the retries took one.
        const other = await login('mona', 'NAS-Port = 22', '127.0.0.2');
        assert.equal(other.code, 'Access-Accept');
        assert.notEqual(other.attributes['Framed-IP-Address'], first.attributes['Framed-IP-Address']);
        const third = await login('nina', 'NAS-Port = 23', '127.0.0.2');
        assert.match(third.attributes['Reply-Message'] ?? '', /AAA_POOL_EXHAUSTED/);
        assert.equal((await t.gateway.context.store.db.selectFrom('sessions').select('id').where('login', '=', 'liam').execute()).length, 1);
      });

      it('without NAS-Port the Calling-Station-Id is the key; once the session started, a new log-in is a new session', async () => {
        const a = pooled(await login('oleg', 'Calling-Station-Id = "02-00-00-00-00-01"'));
        const b = pooled(await login('oleg', 'Calling-Station-Id = "02-00-00-00-00-01"'));
        assert.deepEqual(b, a);
        const elsewhere = pooled(await login('oleg', 'Calling-Station-Id = "02-00-00-00-00-02"'));
        assert.notEqual(elsewhere.address, a.address);
        await account([`User-Name = oleg, Acct-Session-Id = oleg-1, Class = ${a.cls}, Framed-IP-Address = ${a.address}, Calling-Station-Id = "02-00-00-00-00-01", Acct-Status-Type = Start`]);
        const next = pooled(await login('oleg', 'Calling-Station-Id = "02-00-00-00-00-01"'));
        assert.notEqual(next.id, a.id);
        assert.notEqual(next.address, a.address);
      });

      it('an Accounting Start claiming an address another live session holds is recorded, counted and logged with both; trust-nas moves the address', async () => {
        const before = await metric(t, 'sideband_radius_accounting_anomalies_total', 'kind="address-conflict"');
        await account(['User-Name = pat, Acct-Session-Id = nas-pat-1, Framed-IP-Address = 192.0.2.30, Acct-Status-Type = Start']);
        const holder = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-pat-1').executeTakeFirstOrThrow()).id;
        await account(['User-Name = quinn, Acct-Session-Id = nas-quinn-1, Framed-IP-Address = 192.0.2.30, Acct-Status-Type = Start']);
        const claimant = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-quinn-1').executeTakeFirstOrThrow()).id;
        assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.30'), claimant);
        const old = await session(holder);
        assert.deepEqual([old.status, old.closedBy, old.terminateCause], ['closed', 'address-conflict', 'Sideband-Address-Reassigned']);
        assert.deepEqual(old.anomalies, [{ ...old.anomalies[0]!, kind: 'address-conflict', otherSessionId: claimant }]);
        assert.deepEqual((await session(claimant)).anomalies.map((a) => [a.kind, a.otherSessionId]), [['address-conflict', holder]]);
        assert.equal(await metric(t, 'sideband_radius_accounting_anomalies_total', 'kind="address-conflict"'), before + 1);
      });

      it('a Start dated back before a live session\'s hold began (a replayed queue) is history: the address stays with that session', async () => {
        const s = pooled(await login('pia', 'NAS-Port = 31'));
        const ts = nowSeconds();
        await account([`User-Name = pia, Acct-Session-Id = pia-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 31, Acct-Status-Type = Start`]);
        // The NAS replays a queue: another log-in on the same address, ten minutes back,
        // before pia was given it. Closing pia would charge mallory for pia's purchases.
        await account([`User-Name = mallory, Acct-Session-Id = nas-mallory-1, Framed-IP-Address = ${s.address}, NAS-Port = 32, Acct-Status-Type = Start, Acct-Delay-Time = 600`]);
        const claimant = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-mallory-1').executeTakeFirstOrThrow()).id;
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), s.id);
        const held = await session(s.id);
        assert.deepEqual([held.status, held.closedBy], ['active', null]);
        const v = await session(claimant);
        assert.deepEqual(v.bindings, [], 'mallory is recorded without the address');
        assert.ok(v.anomalies.some((a) => a.kind === 'address-conflict' && a.otherSessionId === s.id), JSON.stringify(v.anomalies));
        const now = await resolve(s.address, nowSeconds() + 1);
        assert.equal((now.body as { session?: { id: string } }).session?.id, s.id, 'who holds the address now is still pia');
        assert.equal((await resolve(s.address, ts - 300)).status, 404, 'nor is mallory named for the time before pia');
      });

      it('a Class echoed by another NAS neither stops nor bills the session it names', async () => {
        const s = pooled(await login('rob', 'NAS-Port = 33'));
        await account([`User-Name = rob, Acct-Session-Id = rob-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 33, Acct-Status-Type = Start`]);
        await account([`User-Name = rob, Acct-Session-Id = copied-1, Class = ${s.cls}, Acct-Status-Type = Stop, Acct-Session-Time = 5, Acct-Terminate-Cause = User-Request, Packet-Src-IP-Address = 127.0.0.3`]);
        const v = await session(s.id);
        assert.deepEqual([v.status, v.chargedSeconds], ['active', 0]);
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), s.id);
        const row = await t.gateway.context.store.db.selectFrom('sessions').select('acct_session_id').where('id', '=', s.id).executeTakeFirstOrThrow();
        assert.equal(row.acct_session_id, 'rob-1');
      });

      it('a Stop nobody started, over an address a live session holds, is recorded without a binding: no instant gets two holders', async () => {
        const s = pooled(await login('tess', 'NAS-Port = 34'));
        const ts = nowSeconds();
        await account([`User-Name = tess, Acct-Session-Id = tess-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 34, Acct-Status-Type = Start`]);
        await account([`User-Name = trudy, Acct-Session-Id = nas-trudy-1, Framed-IP-Address = ${s.address}, Acct-Status-Type = Stop, Acct-Session-Time = 3600`]);
        const claimant = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-trudy-1').executeTakeFirstOrThrow()).id;
        const v = await session(claimant);
        assert.deepEqual(v.bindings, []);
        assert.deepEqual(v.anomalies.map((a) => `${a.kind} ${a.otherSessionId}`).sort(), [`address-conflict ${s.id}`, 'stop-without-start null']);
        assert.deepEqual([(await session(s.id)).status, t.gateway.authentication.sessions.holderOf(s.address)], ['active', s.id]);
        assert.equal((await resolve(s.address, ts - 1800)).status, 404);
      });
    });

    describe('a session whose NAS reports another address', () => {
      const anomaliesOf = async (id: string) => (await session(id)).anomalies.map((a) => `${a.kind} ${a.otherSessionId}`).sort();

      it('moves its binding to the reported address, once however often it is retransmitted, and records address-changed', async () => {
        const s = pooled(await login('vera', 'NAS-Port = 41'));
        const before = await metric(t, 'sideband_radius_accounting_anomalies_total', 'kind="address-changed"');
        await account([`User-Name = vera, Acct-Session-Id = vera-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 41, Acct-Status-Type = Start`]);
        const moved = '192.0.2.61';
        const interim = `User-Name = vera, Acct-Session-Id = vera-1, Class = ${s.cls}, Framed-IP-Address = ${moved}, NAS-Port = 41, Acct-Status-Type = Interim-Update, Acct-Session-Time = 60`;
        await account([interim]);
        await account([`${interim}, Acct-Delay-Time = 2`]);
        assert.equal(t.gateway.authentication.sessions.holderOf(moved), s.id);
        assert.equal(t.gateway.authentication.sessions.holderOf(s.address), undefined, 'the old address is no longer named');
        const v = await session(s.id);
        assert.deepEqual(v.bindings.map((b) => [b.address, b.end === null]), [[s.address, false], [moved, true]]);
        assert.equal(v.bindings[0]!.end, v.bindings[1]!.start, 'the old hold ends where the new one begins');
        assert.deepEqual(await anomaliesOf(s.id), ['address-changed null']);
        assert.equal(await metric(t, 'sideband_radius_accounting_anomalies_total', 'kind="address-changed"'), before + 1);
        // The Stop closes the binding it moved to.
        await account([`User-Name = vera, Acct-Session-Id = vera-1, Class = ${s.cls}, Framed-IP-Address = ${moved}, NAS-Port = 41, Acct-Status-Type = Stop, Acct-Session-Time = 90`]);
        assert.equal(t.gateway.authentication.sessions.holderOf(moved), undefined);
        assert.ok((await session(s.id)).bindings.every((b) => b.end !== null));
      });

      it('moved onto an address a live session holds, trust-nas closes the holder as a conflict', async () => {
        await account(['User-Name = walt, Acct-Session-Id = nas-walt-1, Framed-IP-Address = 192.0.2.62, Acct-Status-Type = Start']);
        const holder = (await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-walt-1').executeTakeFirstOrThrow()).id;
        const s = pooled(await login('xena', 'NAS-Port = 42'));
        await account([`User-Name = xena, Acct-Session-Id = xena-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 42, Acct-Status-Type = Start`]);
        await account([`User-Name = xena, Acct-Session-Id = xena-1, Class = ${s.cls}, Framed-IP-Address = 192.0.2.62, NAS-Port = 42, Acct-Status-Type = Interim-Update, Acct-Session-Time = 30`]);
        assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.62'), s.id);
        const old = await session(holder);
        assert.deepEqual([old.status, old.closedBy, old.terminateCause], ['closed', 'address-conflict', 'Sideband-Address-Reassigned']);
        assert.deepEqual(await anomaliesOf(s.id), ['address-changed null', `address-conflict ${holder}`]);
      });

      it('a Stop reporting another address records it and takes nothing', async () => {
        const s = pooled(await login('yuri', 'NAS-Port = 43'));
        await account([`User-Name = yuri, Acct-Session-Id = yuri-1, Class = ${s.cls}, Framed-IP-Address = ${s.address}, NAS-Port = 43, Acct-Status-Type = Start`]);
        await account([`User-Name = yuri, Acct-Session-Id = yuri-1, Class = ${s.cls}, Framed-IP-Address = 192.0.2.63, NAS-Port = 43, Acct-Status-Type = Stop, Acct-Session-Time = 20`]);
        const v = await session(s.id);
        assert.deepEqual(v.bindings.map((b) => b.address), [s.address]);
        assert.equal(v.status, 'closed');
        assert.deepEqual(await anomaliesOf(s.id), ['address-changed null']);
        assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.63'), undefined);
      });

      it('a session whose NAS allocates its own address is bound to what its Start reports, without an anomaly', async () => {
        const reply = await login('mona', 'NAS-Port = 44', '127.0.0.4');
        assert.equal(reply.code, 'Access-Accept');
        assert.equal(reply.attributes['Framed-IP-Address'], undefined, 'no pool, no address');
        const id = sessionOfClass(reply.attributes.Class!);
        await account([`User-Name = mona, Acct-Session-Id = mona-1, Class = ${reply.attributes.Class!}, Framed-IP-Address = 192.0.2.64, NAS-Port = 44, Acct-Status-Type = Start, Packet-Src-IP-Address = 127.0.0.4`]);
        assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.64'), id);
        assert.deepEqual(await anomaliesOf(id), []);
      });
    });

    describe('times from the NAS clock', () => {
      it('a night of buffered accounting replayed at once writes the history it would have written live', async () => {
        const ts = nowSeconds();
        const night = ts - 8 * 3600;
        const ctx = t.gateway.context;
        await ctx.subscribers.add({ login: 'rita', password: 'rita-password', seconds: 36_000 });
        await ctx.subscribers.add({ login: 'sam', password: 'sam-password', seconds: 36_000 });
        // One session dated by Event-Timestamp, one by Acct-Delay-Time (a NAS without a clock).
        const stamped = (status: string, at: number, extra = '') => `User-Name = rita, Acct-Session-Id = night-1, Framed-IP-Address = 192.0.2.40, Acct-Status-Type = ${status}, Event-Timestamp = ${at}${extra}`;
        // Acct-Delay-Time counts to when the NAS sends; `sentAt` is written just before.
        let sentAt = 0;
        const delayed = (status: string, at: number, extra = '') => `User-Name = sam, Acct-Session-Id = night-2, Framed-IP-Address = 192.0.2.41, Acct-Status-Type = ${status}, Acct-Delay-Time = ${sentAt - at}${extra}`;
        // A session the gateway authorized hours ago whose accounting the NAS held back.
        const sub = await ctx.subscribers.show('rita');
        const pool = (await ctx.network.listPools()).find((p) => p.name === 'access')!;
        const nas = (await ctx.network.listNas()).find((n) => n.name === 'bng')!;
        const held = await t.gateway.authentication.sessions.authorize({ subscriberId: sub.id, login: 'rita', nasId: nas.id, poolId: pool.id, nasPort: 40, nasPortId: null, nasIdentifier: null, nasIpAddress: null, sessionTimeout: 36_000, now: (night + 60) * 1000 });
        const heldClass = `0x${Buffer.from(held.classValue).toString('hex')}`;
        const pooledRecord = (status: string, at: number, extra = '') => `User-Name = rita, Acct-Session-Id = night-3, Class = ${heldClass}, Framed-IP-Address = ${held.unit!.address}, Acct-Status-Type = ${status}, Event-Timestamp = ${at}${extra}`;
        sentAt = nowSeconds();
        await account([
          stamped('Start', night),
          delayed('Start', night),
          pooledRecord('Start', night + 62),
          stamped('Interim-Update', night + 3600, ', Acct-Session-Time = 3600'),
          delayed('Interim-Update', night + 3600, ', Acct-Session-Time = 3600'),
          pooledRecord('Interim-Update', night + 3662, ', Acct-Session-Time = 3600'),
          stamped('Stop', night + 7200, ', Acct-Session-Time = 7200, Acct-Terminate-Cause = User-Request'),
          delayed('Stop', night + 7200, ', Acct-Session-Time = 7200, Acct-Terminate-Cause = User-Request'),
          pooledRecord('Stop', night + 5462, ', Acct-Session-Time = 5400, Acct-Terminate-Cause = Idle-Timeout'),
        ]);
        // Dated by Acct-Delay-Time, a request happened no earlier than the NAS says and no later than it took to arrive.
        const late = Date.now() - sentAt * 1000;
        for (const [acctId, address] of [['night-1', '192.0.2.40'], ['night-2', '192.0.2.41']] as const) {
          const id = (await ctx.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', acctId).executeTakeFirstOrThrow()).id;
          const v = await session(id);
          const give = acctId === 'night-2' ? late : 0;
          const within = (text: string, at: number) => Date.parse(text) >= at * 1000 && Date.parse(text) <= at * 1000 + give;
          assert.ok(within(v.startedAt!, night), `${acctId} started when the NAS said: ${v.startedAt}`);
          assert.ok(within(v.endedAt!, night + 7200), `${acctId} ended when the NAS said: ${v.endedAt}`);
          assert.deepEqual([v.status, v.sessionTime, v.anomalies.length], ['closed', 7200, 0]);
          const during = await resolve(address, night + 1800);
          assert.equal((during.body as { session: { id: string } }).session?.id, id, `${address} resolves to ${acctId} during the night`);
          assert.equal((await resolve(address, night - 60)).status, 404);
          assert.equal((await resolve(address, night + 7201 + Math.ceil(give / 1000))).status, 404, 'nobody holds it after the replayed Stop');
        }
        const p = await session(held.sessionId);
        assert.deepEqual([p.status, p.startedAt, p.endedAt, p.bindings[0]!.start, p.bindings[0]!.end], ['closed', iso(night + 62), iso(night + 5462), iso(night + 60), iso(night + 5462)]);
        assert.equal((await resolve(held.unit!.address, night + 5000)).status, 200);
        assert.equal((await resolve(held.unit!.address, night + 5500)).status, 404);
        assert.equal(await remaining('rita'), 36_000 - 7200 - 5400);
        assert.equal(await remaining('sam'), 36_000 - 7200);
      });

      it('Accounting-On closes the sessions its NAS had begun by its time, not those of the new boot, charging only what was reported', async () => {
        const ts = nowSeconds();
        const east = (login: string, id: string, address: string, status: string, at: number, extra = '') =>
          `User-Name = ${login}, Acct-Session-Id = ${id}, Framed-IP-Address = ${address}, Acct-Status-Type = ${status}, Event-Timestamp = ${at}, Packet-Src-IP-Address = 127.0.0.3${extra}`;
        await account([
          east('vera', 'east-1', '192.0.2.60', 'Start', ts - 100),
          east('vera', 'east-1', '192.0.2.60', 'Interim-Update', ts - 70, ', Acct-Session-Time = 30'),
          // The NAS rebooted at ts-50; this session is its new boot's.
          east('walt', 'east-2', '192.0.2.61', 'Start', ts - 10),
          'Acct-Status-Type = Accounting-On, NAS-Identifier = bng-east, Packet-Src-IP-Address = 127.0.0.3, Event-Timestamp = ' + (ts - 50),
        ]);
        const db = t.gateway.context.store.db;
        const byAcct = (id: string) => db.selectFrom('sessions').selectAll().where('acct_session_id', '=', id).executeTakeFirstOrThrow();
        const old = await byAcct('east-1');
        assert.deepEqual([old.status, old.closed_by, old.terminate_cause, old.ended_at, old.charged_seconds], ['closed', 'nas-restart', 'NAS-Reboot', (ts - 50) * 1000, 30]);
        assert.equal((await byAcct('east-2')).status, 'active');
        assert.equal((await resolve('192.0.2.60', ts - 60)).status, 200);
        assert.equal((await resolve('192.0.2.60', ts - 40)).status, 404);
      });

      it('absurd dates — a timestamp an hour ahead, a delay of days, a clock at 1970 — are dropped and counted by cause', async () => {
        const causes = ['event-timestamp-ahead', 'acct-delay-time-too-long', 'event-timestamp-too-old'];
        const before = await Promise.all(causes.map((c) => metric(t, 'sideband_radius_dropped_total', `cause="${c}"`)));
        const base = 'User-Name = tom, Acct-Session-Id = absurd-1, Framed-IP-Address = 192.0.2.50, Acct-Status-Type = Start';
        const run = await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, [`${base}, Event-Timestamp = ${nowSeconds() + 3600}`, `${base}, Acct-Delay-Time = ${3 * 86_400}`, `${base}, Event-Timestamp = 86400`], { parallel: 3, timeout: 1, retries: 1 });
        assert.equal(run.replies.length, 0, 'no answer: the NAS keeps them and an operator sees the counter');
        const afterwards = await Promise.all(causes.map((c) => metric(t, 'sideband_radius_dropped_total', `cause="${c}"`)));
        assert.deepEqual(afterwards.map((n, i) => n - before[i]! > 0), [true, true, true], `${causes} counted`);
        assert.equal((await t.gateway.context.store.db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'absurd-1').execute()).length, 0);
      });
    });

    describe('no lockout from elsewhere', () => {
      it('failed log-ins on one NAS do not throttle the subscriber on another NAS or from another calling station', async () => {
        await t.gateway.context.subscribers.add({ login: 'uma', password: 'uma-password' });
        const attempt = (password: string, from: string, station: string) =>
          radclient(t.gateway.listen.radiusAuth!, 'auth', SECRET, [`User-Name = uma, User-Password = "${password}", Message-Authenticator = 0x00, Packet-Src-IP-Address = ${from}, Calling-Station-Id = "${station}", NAS-Port = 50`]).then((r) => r.replies[0]!);
        for (let i = 0; i < 2; i++) assert.match((await attempt(`guess-${i}-wrong`, '127.0.0.3', 'attacker')).attributes['Reply-Message']!, /AAA_CREDENTIALS_REJECTED/);
        assert.match((await attempt('uma-password', '127.0.0.3', 'attacker')).attributes['Reply-Message']!, /AAA_THROTTLED/, 'throttled where the failures came from');
        assert.equal((await attempt('uma-password', '127.0.0.1', 'attacker')).code, 'Access-Accept', 'another NAS is not locked out');
        assert.equal((await attempt('uma-password', '127.0.0.3', 'uma-home')).code, 'Access-Accept', 'another calling station is not locked out');
      });
    });
  });

  describe(`radius.addressConflict refuse, with radclient, on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing' }, () => {
    let t: TestGateway;
    before(async () => {
      t = await gatewayFor(dialect, `anomalies-refuse-${dialect}`, 'refuse');
    });
    after(async () => t?.dispose());

    it('keeps the address with its holder and records the claimant without it', async () => {
      const send = (records: string[]) => radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, records);
      await send(['User-Name = pat, Acct-Session-Id = nas-pat-1, Framed-IP-Address = 192.0.2.30, Acct-Status-Type = Start']);
      const run = await send(['User-Name = quinn, Acct-Session-Id = nas-quinn-1, Framed-IP-Address = 192.0.2.30, Acct-Status-Type = Start']);
      assert.equal(run.replies[0]?.code, 'Accounting-Response', 'acknowledged all the same');
      const db = t.gateway.context.store.db;
      const holder = (await db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-pat-1').executeTakeFirstOrThrow()).id;
      const claimant = await db.selectFrom('sessions').select(['id', 'status']).where('acct_session_id', '=', 'nas-quinn-1').executeTakeFirstOrThrow();
      assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.30'), holder);
      assert.equal(claimant.status, 'active');
      assert.equal((await db.selectFrom('bindings').select('id').where('session_id', '=', claimant.id).execute()).length, 0, 'no binding for the claimant');
      const anomaly = await db.selectFrom('accounting_anomalies').selectAll().where('kind', '=', 'address-conflict').executeTakeFirstOrThrow();
      assert.deepEqual([anomaly.session_id, anomaly.other_session_id, JSON.parse(anomaly.detail!).policy], [claimant.id, holder, 'refuse']);
    });

    it('keeps a held address with its holder when a known session\'s NAS moves onto it; the mover keeps its own', async () => {
      const db = t.gateway.context.store.db;
      await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, ['User-Name = ruth, Acct-Session-Id = nas-ruth-1, Framed-IP-Address = 192.0.2.70, Acct-Status-Type = Start']);
      await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, ['User-Name = saul, Acct-Session-Id = nas-saul-1, Framed-IP-Address = 192.0.2.71, Acct-Status-Type = Start']);
      await radclient(t.gateway.listen.radiusAcct!, 'acct', SECRET, ['User-Name = saul, Acct-Session-Id = nas-saul-1, Framed-IP-Address = 192.0.2.70, Acct-Status-Type = Interim-Update, Acct-Session-Time = 10']);
      const holder = (await db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-ruth-1').executeTakeFirstOrThrow()).id;
      const mover = (await db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-saul-1').executeTakeFirstOrThrow()).id;
      assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.70'), holder);
      assert.equal(t.gateway.authentication.sessions.holderOf('192.0.2.71'), mover);
      const kinds = await db.selectFrom('accounting_anomalies').select(['kind', 'other_session_id']).where('session_id', '=', mover).execute();
      assert.deepEqual(kinds.map((k) => `${k.kind} ${k.other_session_id}`).sort(), ['address-changed null', `address-conflict ${holder}`]);
    });
  });
}
