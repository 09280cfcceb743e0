import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../../support/databases.ts';
import { merchantSetup, type MerchantSetup } from '../../support/merchant-harness.ts';
import { haveRadclient, radclient, type RadclientReply } from '../../support/radclient.ts';
import { futureExpiry, testCardNumber } from '../../support/test-cards.ts';

const SECRET = 'dual-stack-shared-secret';
interface Refusal {
  code: string;
  message: string;
}

/** The parts of a resolution (or an error) the test reads. */
interface Resolved {
  subscriber: { login: string };
  session: { id: string; acctSessionId: string | null };
  binding: { prefix: string | null };
}

/** The dual-stack NAS sends from this loopback address (radclient's Packet-Src-IP-Address). */
const NAS_ADDRESS = '127.0.0.2';

for (const dialect of dialects) {
  describe(`IPv6 dual stack with radclient on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    let m: MerchantSetup;
    const operator = async (path: string): Promise<{ status: number; body: Resolved }> => m.t.operator(path) as Promise<{ status: number; body: Resolved }>;
    const unbound = async (reason: string): Promise<number> => {
      const line = (await m.t.gateway.metrics.registry.metrics()).split('\n').find((l) => l.startsWith('sideband_radius_ipv6_prefixes_unbound_total{') && l.includes(`reason="${reason}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const login = async (user: string, port: number, extra = ''): Promise<RadclientReply> => {
      const run = await radclient(m.t.gateway.listen.radiusAuth!, 'auth', SECRET, [`User-Name = ${user}, User-Password = "${user}-password", Message-Authenticator = 0x00, NAS-Port = ${port}, Packet-Src-IP-Address = ${NAS_ADDRESS}${extra}`]);
      assert.equal(run.replies.length, 1, run.output);
      return run.replies[0]!;
    };
    const account = async (attributes: string): Promise<void> => {
      const run = await radclient(m.t.gateway.listen.radiusAcct!, 'acct', SECRET, [`${attributes}, Packet-Src-IP-Address = ${NAS_ADDRESS}`]);
      assert.equal(run.replies[0]?.code, 'Accounting-Response', run.output);
    };

    before(async () => {
      m = await merchantSetup(dialect, `dual-stack-${dialect}`, { config: { radius: { holdDownSeconds: 3600 } } });
      const ctx = m.t.gateway.context;
      await ctx.network.addPool({ name: 'v4', cidr: '198.51.100.0/24' });
      await ctx.network.addPool({ name: 'links', cidr: '2001:db8:ff00::/48', prefixLength: 64 });
      await ctx.network.addPool({ name: 'homes', cidr: '2001:db8:100::/40', prefixLength: 56 });
      await ctx.network.addNas({ name: 'bng-dual', address: `${NAS_ADDRESS}/32`, secret: SECRET, pool: 'v4', framedIpv6Pool: 'links', delegatedIpv6Pool: 'homes' });
      await m.t.gateway.authentication.nas.load();
      for (const login of ['ada', 'ben']) await ctx.subscribers.add({ login, password: `${login}-password`, spendingLimit: 20_000, autoApproveLimit: 10_000 });
      const ada = (await ctx.subscribers.list()).find((s) => s.login === 'ada')!;
      await ctx.subscribers.addCard(ada.id, { number: testCardNumber(61), expiry: futureExpiry(), holderName: 'Ada Example', creditLimit: 50_000 });
    });
    after(async () => m?.dispose());

    it('refuses an IPv6 pool that overlaps another, one without a prefix length, and a NAS given a pool of the wrong family', async () => {
      const network = m.t.gateway.context.network;
      await assert.rejects(network.addPool({ name: 'inside-homes', cidr: '2001:db8:1ff::/48', prefixLength: 64 }), (e: Refusal) => e.code === 'POOL_OVERLAP' && /overlaps pool homes \(2001:db8:100::\/40\)/.test(e.message));
      await assert.rejects(network.addPool({ name: 'around-links', cidr: '2001:db8::/32', prefixLength: 48 }), (e: Refusal) => e.code === 'POOL_OVERLAP');
      await assert.rejects(network.addPool({ name: 'no-length', cidr: '2001:db8:2::/48' }), (e: Refusal) => e.code === 'POOL_PREFIX_LENGTH_INVALID');
      await assert.rejects(network.addPool({ name: 'huge', cidr: '2001:db9::/32', prefixLength: 64 }), (e: Refusal) => e.code === 'POOL_TOO_LARGE');
      await assert.rejects(network.addNas({ name: 'bng-wrong', address: '127.0.0.9/32', secret: SECRET, pool: 'homes' }), (e: Refusal) => e.code === 'NAS_POOL_FAMILY_MISMATCH');
      assert.deepEqual((await network.listPools()).map((p) => p.name).sort(), ['access', 'homes', 'links', 'v4']);
    });

    it('accepts a log-in with an IPv4 address and both prefixes, as radclient decodes them, and resolves any address inside them', async () => {
      const reply = await login('ada', 1, ', Framed-Interface-Id = 0211:2233:4455:6677');
      assert.equal(reply.code, 'Access-Accept', JSON.stringify(reply));
      assert.match(reply.attributes['Framed-IP-Address']!, /^198\.51\.100\.\d+$/);
      assert.equal(reply.attributes['Framed-IPv6-Prefix'], '2001:db8:ff00::/64');
      assert.equal(reply.attributes['Delegated-IPv6-Prefix'], '2001:db8:100::/56');
      const resolved = await operator('/v1/resolve?address=2001:db8:100:ab:c0ff:ee::1');
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.equal(resolved.body.subscriber.login, 'ada');
      assert.equal(resolved.body.binding.prefix, '2001:db8:100::/56');
      assert.equal((await operator('/v1/resolve?address=2001:db8:ff00::42')).body.binding.prefix, '2001:db8:ff00::/64');
      assert.equal((await operator('/v1/resolve?address=2001:db8:100:100::1')).status, 404, 'the next /56 is nobody\'s');
      const row = await m.t.gateway.context.store.db.selectFrom('sessions').select('framed_interface_id').where('id', '=', resolved.body.session.id).executeTakeFirstOrThrow();
      assert.equal(row.framed_interface_id, '0211223344556677');
    });

    it('records what accounting reports, resolves inside the delegated prefix at a time, and not after the Stop; the hold-down keeps it from the next subscriber', async () => {
      const reply = await login('ben', 2);
      const cls = reply.attributes.Class!;
      const delegated = reply.attributes['Delegated-IPv6-Prefix']!;
      assert.equal(delegated, '2001:db8:100:100::/56');
      const base = `User-Name = ben, Acct-Session-Id = ben-1, Class = ${cls}, NAS-Port = 2, Framed-IP-Address = ${reply.attributes['Framed-IP-Address']}, Framed-IPv6-Prefix = ${reply.attributes['Framed-IPv6-Prefix']}, Delegated-IPv6-Prefix = ${delegated}`;
      await account(`Acct-Status-Type = Start, ${base}, Framed-IPv6-Address = 2001:db8:ff00:1::77`);
      const during = new Date().toISOString();
      const held = await operator(`/v1/resolve?address=2001:db8:100:1ff::9&at=${during}`);
      assert.equal(held.body.subscriber?.login, 'ben', JSON.stringify(held.body));
      const session = await operator(`/v1/sessions/${held.body.session.id}`);
      assert.equal(session.status, 200);
      const kinds = await m.t.gateway.context.store.db.selectFrom('prefix_bindings').select(['kind', 'network', 'prefix_length', 'end_at']).where('session_id', '=', held.body.session.id).orderBy('kind').execute();
      assert.deepEqual(kinds.map((k) => `${k.kind} ${k.network}/${k.prefix_length}`), ['delegated-ipv6-prefix 2001:db8:100:100::/56', 'framed-ipv6-address 2001:db8:ff00:1::77/128', 'framed-ipv6-prefix 2001:db8:ff00:1::/64']);
      await account(`Acct-Status-Type = Stop, ${base}, Acct-Session-Time = 300`);
      const afterStop = new Date(Date.now() + 1000).toISOString();
      assert.equal((await operator(`/v1/resolve?address=2001:db8:100:1ff::9&at=${afterStop}`)).status, 404);
      assert.equal((await operator(`/v1/resolve?address=2001:db8:100:1ff::9&at=${during}`)).body.subscriber.login, 'ben', 'the past still answers');
      // Resting in hold-down: another subscriber gets another prefix; ben on his port gets his back.
      const ada = await login('ada', 3);
      assert.notEqual(ada.attributes['Delegated-IPv6-Prefix'], delegated);
      assert.equal((await login('ben', 2)).attributes['Delegated-IPv6-Prefix'], delegated);
    });

    it('binds a prefix the NAS allocated itself from a Sideband pool, and counts one outside every pool without binding it', async () => {
      const outside = await unbound('outside-pools');
      await account('Acct-Status-Type = Start, User-Name = ada, Acct-Session-Id = nas-own-1, NAS-Port = 7, Delegated-IPv6-Prefix = 2001:db8:1fe:ff00::/56, Framed-IPv6-Prefix = 2001:db8:aaaa:1::/64');
      const own = await operator('/v1/resolve?address=2001:db8:1fe:ff12::1');
      assert.equal(own.body.subscriber?.login, 'ada', JSON.stringify(own.body));
      assert.equal(own.body.session.acctSessionId, 'nas-own-1');
      assert.equal((await operator('/v1/resolve?address=2001:db8:aaaa:1::1')).status, 404);
      assert.equal(await unbound('outside-pools'), outside + 1);
      const rows = await m.t.gateway.context.store.db.selectFrom('prefix_bindings').select('network').where('session_id', '=', own.body.session.id).execute();
      assert.deepEqual(rows.map((r) => r.network), ['2001:db8:1fe:ff00::'], 'nothing written for the prefix outside the pools');
    });

    it('holds the unit containing a longer prefix, refuses one overlapping another session\'s at any length, and binds a shorter one only over free units', async () => {
      const homesHeld = async (): Promise<number> => ((await m.t.operator('/v1/pools/usage')).body as { data: Array<{ pool: string; held: number }> }).data.find((p) => p.pool === 'homes')!.held;
      const db = m.t.gateway.context.store.db;
      const heldBefore = await homesHeld();
      // A /60 inside the /56 unit 2001:db8:1fd::/56: bound, and the unit held, keyed by the unit.
      await account('Acct-Status-Type = Start, User-Name = ada, Acct-Session-Id = nas-own-60, NAS-Port = 8, Delegated-IPv6-Prefix = 2001:db8:1fd:10::/60');
      const own = await operator('/v1/resolve?address=2001:db8:1fd:1a::1');
      assert.equal(own.body.binding?.prefix, '2001:db8:1fd:10::/60', JSON.stringify(own.body));
      const row = await db.selectFrom('prefix_bindings').select('open_key').where('session_id', '=', own.body.session.id).executeTakeFirstOrThrow();
      assert.equal(row.open_key, '2001:db8:1fd::/56');
      assert.equal(await homesHeld(), heldBefore + 1);

      const overlapping = await unbound('held-by-another');
      const tooWide = await unbound('covers-too-many-units');
      const ben = 'User-Name = ben, Acct-Session-Id = nas-own-b, NAS-Port = 9';
      await account(`Acct-Status-Type = Start, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1fd::/56`);
      await account(`Acct-Status-Type = Interim-Update, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1fd:20::/60`);
      await account(`Acct-Status-Type = Interim-Update, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1fd::/52`);
      assert.equal(await unbound('held-by-another'), overlapping + 3, 'the unit, a /60 beside ada\'s, a /52 around it');
      await account(`Acct-Status-Type = Interim-Update, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1f0::/44`);
      assert.equal(await unbound('covers-too-many-units'), tooWide + 1);
      const benSession = (await db.selectFrom('sessions').select('id').where('acct_session_id', '=', 'nas-own-b').executeTakeFirstOrThrow()).id;
      assert.deepEqual(await db.selectFrom('prefix_bindings').select('id').where('session_id', '=', benSession).execute(), [], 'nothing written for refused prefixes');
      assert.equal(await homesHeld(), heldBefore + 1);

      // A /52 over sixteen free units: bound under its own text, all sixteen held.
      await account(`Acct-Status-Type = Interim-Update, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1fc::/52`);
      assert.equal((await operator('/v1/resolve?address=2001:db8:1fc:a00::1')).body.subscriber?.login, 'ben');
      assert.equal(await homesHeld(), heldBefore + 17);

      // Ada's Stop releases her unit: ben's /60 in it replaces his /52, whose sixteen units are released.
      await account('Acct-Status-Type = Stop, User-Name = ada, Acct-Session-Id = nas-own-60, NAS-Port = 8, Acct-Session-Time = 60');
      assert.equal(await homesHeld(), heldBefore + 16);
      await account(`Acct-Status-Type = Interim-Update, ${ben}, Delegated-IPv6-Prefix = 2001:db8:1fd:20::/60`);
      assert.equal((await operator('/v1/resolve?address=2001:db8:1fd:20::1')).body.subscriber?.login, 'ben');
      assert.equal(await homesHeld(), heldBefore + 1);
      await account(`Acct-Status-Type = Stop, ${ben}, Acct-Session-Time = 60`);
      assert.equal(await homesHeld(), heldBefore);
    });

    it('authorizes a purchase by a customer the merchant sees over IPv6', async () => {
      const reply = await login('ada', 1);
      const address = reply.attributes['Delegated-IPv6-Prefix']!.replace('::/56', ':12:3456:789a:bcde:f0');
      const pushed = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/destinations`, {
        method: 'POST', headers: { authorization: `Bearer ${m.t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ observations: [{ source: { address, port: 51000 }, destination: '203.0.113.80' }] }),
      });
      assert.equal(((await pushed.json()) as { attributed: number }).attributed, 1);
      const auth = await m.client.authorizations.create({ customer: { address, port: 51000 }, amount: 1_500, currency: 'EUR', description: 'A map', merchantReference: 'v6-order-1' });
      assert.equal(auth.status, 'approved', JSON.stringify(auth));
      assert.match(auth.customer.id, /^cus_/);
    });
  });
}
