import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeterministicNat } from '../../../src/core/network/deterministic-nat.ts';
import { locateHolder } from '../../../src/aaa/service/resolution-routes.ts';
import { SidebandError } from '../../../src/errors/sideband-error.ts';
import { dialects } from '../../support/databases.ts';
import { haveRadclient, radclient, type RadclientReply } from '../../support/radclient.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const SECRET = 'nat-port-blocks-secret';
const iso = (ms: number): string => new Date(ms).toISOString();

const metric = async (t: TestGateway, name: string, labels: string): Promise<number> => {
  const text = await t.gateway.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/** IP-Port-Range as radclient writes it: FreeRADIUS names each TLV under its parent. */
const portRange = (alloc: 'Allocation' | 'Deallocation', address: string, first: number, last: number): string =>
  `IP-Port-Range-Type = 6, IP-Port-Range-Alloc = ${alloc}, IP-Port-Range-Ext-IPv4-Addr = ${address}, IP-Port-Range-Range-Start = ${first}, IP-Port-Range-Range-End = ${last}`;

for (const dialect of dialects) {
  describe(`carrier-grade NAT port blocks with radclient on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    let t: TestGateway;
    let auth: string;
    let acct: string;

    before(async () => {
      t = await startTestGateway(dialect, `nat-blocks-${dialect}`, { radius: { holdDownSeconds: 3600, interimIntervalSeconds: 0, staleSessionSeconds: 3600 } });
      const ctx = t.gateway.context;
      // A /30 under CGNAT: two usable addresses, 32 blocks of 2016 ports each.
      await ctx.network.addPool({ name: 'cgnat', cidr: '198.51.100.0/30', portsPerBlock: 2016 });
      await ctx.network.addPool({ name: 'plain', cidr: '203.0.113.0/28' });
      await ctx.network.addNas({ name: 'bng-nat', address: '127.0.0.1/32', secret: SECRET, pool: 'cgnat' });
      for (const login of ['alice', 'bob', 'carol', 'dave']) await ctx.subscribers.add({ login, password: `${login}-password` });
      await t.gateway.authentication.nas.load();
      auth = t.gateway.listen.radiusAuth!;
      acct = t.gateway.listen.radiusAcct!;
    });
    after(async () => t?.dispose());

    const login = async (user: string, port: number): Promise<RadclientReply> => {
      const run = await radclient(auth, 'auth', SECRET, [`User-Name = ${user}, User-Password = "${user}-password", Message-Authenticator = 0x00, NAS-Port = ${port}`]);
      assert.equal(run.replies.length, 1, run.output);
      assert.equal(run.replies[0]!.code, 'Access-Accept', run.output);
      return run.replies[0]!;
    };
    // Dated by arrival (no Event-Timestamp): times are read back from the session's bindings.
    const account = async (status: string, user: string, session: string, reply: RadclientReply, extra = ''): Promise<void> => {
      const attrs = `User-Name = ${user}, Acct-Status-Type = ${status}, Acct-Session-Id = ${session}, Class = ${reply.attributes.Class}, Framed-IP-Address = ${reply.attributes['Framed-IP-Address']}${extra ? `, ${extra}` : ''}`;
      const run = await radclient(acct, 'acct', SECRET, [attrs]);
      assert.equal(run.replies[0]?.code, 'Accounting-Response', run.output);
    };
    const resolve = (address: string, port: number, at: number) => t.operator(`/v1/resolve?address=${address}&port=${port}&at=${encodeURIComponent(iso(at))}`);
    const holder = async (address: string, port: number, at: number): Promise<string | null> => {
      const r = await resolve(address, port, at);
      return r.status === 200 ? (r.body as { subscriber: { login: string } }).subscriber.login : null;
    };

    it('sends the port block in the Access-Accept as IP-Port-Range and IP-Port-Limit-Info, which radclient decodes', async () => {
      const a = await login('alice', 1);
      const address = a.attributes['Framed-IP-Address']!;
      assert.equal(a.attributes['IP-Port-Range-Alloc'], 'Allocation');
      assert.equal(a.attributes['IP-Port-Range-Ext-IPv4-Addr'], address);
      const first = Number(a.attributes['IP-Port-Range-Range-Start']);
      assert.equal(Number(a.attributes['IP-Port-Range-Range-End']), first + 2015);
      assert.equal(a.attributes['IP-Port-Limit'], '2016');
      assert.equal(a.attributes['IP-Port-Range-Type'], '0');
      assert.equal(await holder(address, first + 7, Date.now()), 'alice', 'resolution answers by the block the Accept named');
      // A pool without port blocks sends none.
      const plain = await t.gateway.context.network.addNas({ name: 'bng-plain', address: '127.0.0.2/32', secret: SECRET, pool: 'plain' });
      await t.gateway.authentication.nas.load();
      const run = await radclient(auth, 'auth', SECRET, ['User-Name = carol, User-Password = "carol-password", Message-Authenticator = 0x00, NAS-Port = 5, Packet-Src-IP-Address = 127.0.0.2']);
      assert.equal(run.replies[0]?.code, 'Access-Accept', run.output);
      assert.equal(run.replies[0]!.attributes['IP-Port-Range-Alloc'], undefined);
      assert.ok(plain.id);
    });

    it('applies a range the NAT reports in accounting, from its time, and resolves by it; a Deallocation ends it', async () => {
      const b = await login('bob', 2);
      const address = b.attributes['Framed-IP-Address']!;
      const granted = Number(b.attributes['IP-Port-Range-Range-Start']);
      await account('Start', 'bob', 'bob-1', b);
      const session = ((await resolve(address, granted, Date.now())).body as { session: { id: string } }).session.id;
      const show = async () => (await t.operator(`/v1/sessions/${session}`)).body as { status: string; bindings: Array<{ portFirst: number; start: string; end: string | null }>; portRanges: Array<{ alloc: string; outcome: string; portFirst: number }> };
      // The NAT uses the last block of the address instead of the one granted.
      const nat = 1024 + 31 * 2016;
      assert.notEqual(nat, granted);
      await account('Interim-Update', 'bob', 'bob-1', b, portRange('Allocation', address, nat, nat + 2015));
      const moved = Date.parse((await show()).bindings[1]!.start);
      assert.equal(await holder(address, nat + 100, moved), 'bob', 'the NAT\'s block answers from the reported time');
      assert.equal(await holder(address, granted + 100, moved), null, 'the granted block no longer does');
      assert.equal(await holder(address, granted + 100, moved - 1), 'bob', 'before the report, the granted block still does');
      assert.equal(await holder(address, nat + 100, moved - 1), null);
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="applied"'), 1);

      // The same report again changes nothing.
      await account('Interim-Update', 'bob', 'bob-1', b, portRange('Allocation', address, nat, nat + 2015));
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="unchanged"'), 1);

      await account('Interim-Update', 'bob', 'bob-1', b, portRange('Deallocation', address, nat, nat + 2015));
      const view = await show();
      const released = Date.parse(view.bindings[1]!.end!);
      assert.equal(await holder(address, nat + 100, released), null, 'released: nobody holds it');
      assert.equal(await holder(address, nat + 100, released - 1), 'bob');
      assert.equal(view.status, 'active', 'the session goes on without a block');
      assert.deepEqual(view.bindings.map((x) => [x.portFirst, x.end !== null]), [[granted, true], [nat, true]]);
      assert.deepEqual(view.portRanges.map((r) => [r.alloc, r.outcome, r.portFirst]), [['allocation', 'applied', nat], ['allocation', 'unchanged', nat], ['deallocation', 'applied', nat]]);

      // Its Stop leaves the released binding's end where the NAT put it.
      await account('Stop', 'bob', 'bob-1', b);
      assert.equal((await show()).bindings[1]!.end, view.bindings[1]!.end);
    });

    it('refuses and counts a report that overlaps another live subscriber\'s block or is not one of the pool\'s blocks, changing nothing', async () => {
      const c = await login('carol', 3);
      const address = c.attributes['Framed-IP-Address']!;
      const own = Number(c.attributes['IP-Port-Range-Range-Start']);
      await account('Start', 'carol', 'carol-1', c);
      // alice holds a block; carol's NAT claims it.
      const a = (await t.operator('/v1/sessions?login=alice')).body as { data: Array<{ address: string; portFirst: number }> };
      const alice = a.data[0]!;
      await account('Interim-Update', 'carol', 'carol-1', c, portRange('Allocation', alice.address, alice.portFirst, alice.portFirst + 2015));
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="overlap"'), 1);
      assert.equal(await holder(alice.address, alice.portFirst + 1, Date.now()), 'alice');
      // Half a block, and an address in no CGNAT pool.
      await account('Interim-Update', 'carol', 'carol-1', c, portRange('Allocation', address, 40000, 40999));
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="not-a-block"'), 1);
      await account('Interim-Update', 'carol', 'carol-1', c, portRange('Allocation', '192.0.2.200', 1024, 3039));
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="outside-pools"'), 1);
      // TLVs that do not frame: counted, the request still acknowledged.
      await account('Interim-Update', 'carol', 'carol-1', c, 'Attr-241 = 0x060802');
      assert.equal(await metric(t, 'sideband_radius_port_range_reports_total', 'outcome="tlv-malformed"'), 1);
      assert.equal(await holder(address, own + 1, Date.now()), 'carol', 'her binding is as it was');
      const session = ((await resolve(address, own + 1, Date.now())).body as { session: { id: string } }).session.id;
      const view = (await t.operator(`/v1/sessions/${session}`)).body as { bindings: unknown[]; portRanges: Array<{ outcome: string; cause: string | null }> };
      assert.equal(view.bindings.length, 1);
      assert.deepEqual(view.portRanges.map((r) => r.cause), ['overlap', 'not-a-block', 'outside-pools']);
    });
    it('resolves an outside address and port of a deterministic NAT to the inside address, then to the session holding it', async () => {
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'inside', cidr: '100.64.0.0/24' });
      await ctx.network.addNas({ name: 'bng-dnat', address: '127.0.0.3/32', secret: SECRET, pool: 'inside' });
      await t.gateway.authentication.nas.load();
      const created = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/nat-mappings`, {
        method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'cgn-east', inside: '100.64.0.0/24', outside: '192.0.2.0/30', portsPerSubscriber: 1000 }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      const overlapping = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/nat-mappings`, {
        method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'cgn-west', inside: '100.64.0.128/25', outside: '192.0.2.64/26', portsPerSubscriber: 1000 }),
      });
      assert.equal(overlapping.status, 409);
      assert.equal(((await overlapping.json()) as { error: { code: string } }).error.code, 'DETERMINISTIC_NAT_OVERLAP');

      const run = await radclient(auth, 'auth', SECRET, ['User-Name = dave, User-Password = "dave-password", Message-Authenticator = 0x00, NAS-Port = 7, Packet-Src-IP-Address = 127.0.0.3']);
      const inside = run.replies[0]!.attributes['Framed-IP-Address']!;
      assert.match(inside, /^100\.64\.0\.\d+$/, run.output);
      const outside = new DeterministicNat({ inside: '100.64.0.0/24', outside: '192.0.2.0/30', portsPerSubscriber: 1000 }).forward(inside)!;
      const r = await resolve(outside.address, outside.first + 17, Date.now());
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const body = r.body as { subscriber: { login: string }; translation: { mapping: string; insideAddress: string } };
      assert.equal(body.subscriber.login, 'dave');
      assert.deepEqual(body.translation, { mapping: 'cgn-east', insideAddress: inside });
      // Without a port, or on a port of an inside address nobody holds, it cannot answer.
      const noPort = await t.operator(`/v1/resolve?address=${outside.address}`);
      assert.equal((noPort.body as { error: { code: string } }).error.code, 'RESOLVE_PORT_REQUIRED');
      const other = await resolve(outside.address, outside.last + 1, Date.now());
      assert.equal((other.body as { error: { code: string } }).error.code, 'RESOLVE_NOT_FOUND');
      // Removed, it still answers for the time it was in force, and not after.
      const before = Date.now();
      await ctx.nat.remove('cgn-east');
      assert.equal(await holder(outside.address, outside.first, before - 1), 'dave');
      assert.equal((await resolve(outside.address, outside.first, Date.now() + 1000)).status, 404);
      const audit = await t.operator('/v1/audit?action=nat.');
      assert.deepEqual((audit.body as { data: Array<{ action: string }> }).data.map((a) => a.action), ['nat.remove', 'nat.add']);
    });

    it('answers a purchase by a deterministic NAT covering the address even where a session holds it directly, and by the session once the mapping is removed', async () => {
      // PostgreSQL reads "does a mapping cover it" with the holder's row in one query
      // (locateUntranslated); covered, it must answer by the translation as SQLite does.
      // Provisioning refuses an outside range over a pool, so the mapping is written as a
      // hand edit or an older release could have left it.
      const ctx = t.gateway.context;
      const sessions = t.gateway.authentication.sessions;
      await ctx.network.addPool({ name: 'both', cidr: '192.0.2.96/30' });
      await ctx.network.addNas({ name: 'bng-both', address: '127.0.0.4/32', secret: SECRET, pool: 'both' });
      await ctx.subscribers.add({ login: 'erin', password: 'erin-password' });
      await t.gateway.authentication.nas.load();
      const run = await radclient(auth, 'auth', SECRET, ['User-Name = erin, User-Password = "erin-password", Message-Authenticator = 0x00, NAS-Port = 9, Packet-Src-IP-Address = 127.0.0.4']);
      const address = run.replies[0]?.attributes['Framed-IP-Address'];
      assert.match(address ?? '', /^192\.0\.2\.9\d$/, run.output);
      const purchase = (port?: number) => locateHolder(sessions, ctx.store, { address: address!, port, at: Date.now(), forMerchant: 'merchant-of-the-test' });
      const codeOf = (p: Promise<unknown>) => p.then(() => 'answered', (e: unknown) => (e instanceof SidebandError ? e.code : String(e)));

      assert.equal((await purchase()).resolution.subscriber.login, 'erin');
      await ctx.store.db.insertInto('deterministic_nat').values({ id: 'dnat-both', name: 'cgn-both', inside_cidr: '100.64.2.0/24', outside_cidr: '192.0.2.96/30', ports_per_subscriber: 1000, first_port: 1024, created_at: Date.now() - 1, removed_at: null }).execute();
      assert.equal(await codeOf(purchase()), 'RESOLVE_PORT_REQUIRED', 'an outside address needs its port');
      // Its port maps to an inside address nobody holds: not erin, who holds the outside address directly.
      assert.equal(await codeOf(purchase(1024)), 'RESOLVE_NOT_FOUND');
      await ctx.store.db.updateTable('deterministic_nat').set({ removed_at: Date.now() }).where('id', '=', 'dnat-both').execute();
      const after = await purchase();
      assert.equal(after.resolution.subscriber.login, 'erin');
      assert.equal(after.resolution.translation, undefined);
    });
  });
}
