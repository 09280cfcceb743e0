import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SidebandClient, type Authorization } from '@sideband/merchant-sdk';
import { loadConfig } from '../../src/config/load-config.ts';
import { openContext, type Context } from '../../src/gateway/context.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { testScryptCost } from '../support/contexts.ts';
import { throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { haveRadclient, radclient } from '../support/radclient.ts';
import { RestartableGateway } from '../support/restartable-gateway.ts';
import { ephemeralPorts } from '../support/spawn-gateway.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

/*
 * Three `sideband start` processes on one PostgreSQL database, as a provider runs them
 * behind its NAS equipment. Log-ins, accounting and purchases go to all three, each step
 * of one subscriber's story to another gateway than the step before; one gateway is
 * SIGKILLed in the middle of a round and started again. Then, from the store and from
 * each gateway: no address bound twice at one instant nor re-bound to another subscriber
 * within its hold-down, nothing acknowledged lost, the ledger balanced and no limit
 * passed, the three answer "who held A at T" alike, and every purchase charged to whoever
 * held the customer's address when the merchant saw it.
 */

const PUBLIC_ORIGIN = 'https://pay.cluster.example';
const HOLD_DOWN_S = 2;
const SUBSCRIBERS = 18;
const ROUNDS = 6;
const KILL_ROUND = 2;
const SPENDING_LIMIT = 5_000;
const CREDIT_LIMIT = 4_000;
const SECRET = 'cluster-nas-secret';

interface Online { login: string; address: string; classValue: string; nasPort: number; acctSessionId: string; since: number }
interface Acknowledged { accepts: Online[]; starts: Online[]; stops: Online[]; purchases: Array<{ login: string; address: string; auth: Authorization }> }

describe('three gateways on one PostgreSQL database, one SIGKILLed mid-load', { skip: haveRadclient ? false : 'radclient missing' }, () => {
  let database: ThrowawayDatabase;
  const dirs: string[] = [];
  const gateways: RestartableGateway[] = [];
  let ctx: Context;
  let operatorToken = '';
  const ack: Acknowledged = { accepts: [], starts: [], stops: [], purchases: [] };
  const refused: Record<string, number> = {};
  const note = (what: string) => (refused[what] = (refused[what] ?? 0) + 1);
  let nasPort = 0;

  before(async () => {
    database = await throwawayDatabase('postgres');
    dirs.push(database.dataDir, mkdtempSync(join(tmpdir(), 'sideband-cluster-')), mkdtempSync(join(tmpdir(), 'sideband-cluster-')));
    const configFile = join(dirs[1]!, 'cluster.json');
    writeFileSync(configFile, JSON.stringify({ radius: { holdDownSeconds: HOLD_DOWN_S }, merchantApi: { destinationCheck: 'off', publicOrigin: PUBLIC_ORIGIN } }));
    const keyring = join(dirs[0]!, 'master-keys.json');
    const args = (i: number) => ['--config', configFile, '--data-dir', dirs[i]!, '--database-url', database.databaseUrl!];
    // The first seeds the demo data and writes the keyring; the others share that keyring.
    gateways.push(await RestartableGateway.start(args(0), ephemeralPorts));
    gateways.push(...(await Promise.all([1, 2].map((i) => RestartableGateway.start(args(i), { ...ephemeralPorts, SIDEBAND_VAULT_KEY_FILE: keyring })))));

    // The operator's side, as `sideband` commands would do it, from a fourth directory.
    const opsDir = mkdtempSync(join(tmpdir(), 'sideband-cluster-ops-'));
    dirs.push(opsDir);
    ctx = await openContext(loadConfig({ env: {}, overrides: { dataDir: opsDir, databaseUrl: database.databaseUrl, demo: false, vault: { keyFile: keyring } } }), createTestLogger('cluster-ops'), { env: {}, scryptCost: testScryptCost });
    // A small pool, so that addresses go round between subscribers within the test.
    await ctx.network.addPool({ name: 'churn', cidr: '198.51.100.0/28' });
    await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: SECRET, pool: 'churn' });
    for (let i = 0; i < SUBSCRIBERS; i++) {
      await ctx.subscribers.add({ login: `cl-${i}`, password: `cl-${i}-password`, spendingLimit: SPENDING_LIMIT, autoApproveLimit: 5_000 });
      await ctx.subscribers.addCard(`cl-${i}`, { number: testCardNumber(70 + i), expiry: futureExpiry(), holderName: 'Cluster Tester', creditLimit: CREDIT_LIMIT });
    }
    operatorToken = (await ctx.tokens.issue('cluster-test')).token;
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await ctx?.close();
    for (const d of dirs.slice(1)) rmSync(d, { recursive: true, force: true });
    await database?.drop();
  });

  const radius = (g: number, kind: 'auth' | 'acct') => gateways[g]!.where()[kind === 'auth' ? 'radiusAuth' : 'radiusAcct']!;

  /** Log-ins at gateway g; the NAS fails over, so a gateway that knows no `bng` yet is retried at the next. */
  async function logIn(logins: string[], g: number): Promise<Online[]> {
    const requests = logins.map((login) => ({ login, port: ++nasPort }));
    const run = await radclient(radius(g, 'auth'), 'auth', SECRET, requests.map((r) => `User-Name = "${r.login}", User-Password = "${r.login}-password", NAS-Port = ${r.port}, Message-Authenticator = 0x00`), { parallel: 8, retries: 1, timeout: 3 });
    const out: Online[] = [];
    // radclient prints replies in the order they come, not as sent: the store says whose each address is.
    for (const reply of run.replies) {
      if (reply.code !== 'Access-Accept') {
        note(`auth:${reply.code}`);
        continue;
      }
      const classValue = reply.attributes['Class']!;
      const address = reply.attributes['Framed-IP-Address']!;
      const row = await ctx.store.db.selectFrom('sessions').select(['login', 'nas_port']).where('framed_address', '=', address).where('status', '!=', 'closed').orderBy('authorized_at', 'desc').executeTakeFirst();
      assert.ok(row, `an Access-Accept for ${address} left no open session in the store`);
      out.push({ login: row.login!, address, classValue, nasPort: row.nas_port!, acctSessionId: randomBytes(6).toString('hex'), since: Date.now() });
    }
    ack.accepts.push(...out);
    return out;
  }

  async function account(kind: 'Start' | 'Stop', sessions: Online[], g: number): Promise<Online[]> {
    if (sessions.length === 0) return [];
    const lines = sessions.map((s) => `User-Name = "${s.login}", Acct-Status-Type = ${kind}, Acct-Session-Id = "${s.acctSessionId}", NAS-Port = ${s.nasPort}, Framed-IP-Address = ${s.address}, Class = ${s.classValue}${kind === 'Stop' ? ', Acct-Session-Time = 5, Acct-Terminate-Cause = User-Request' : ''}`);
    // One at a time, in order, so each reply is known to be that request's.
    const done: Online[] = [];
    for (const [i, line] of lines.entries()) {
      const run = await radclient(radius(g, 'acct'), 'acct', SECRET, [line], { retries: 2, timeout: 3 });
      if (run.replies[0]?.code === 'Accounting-Response') done.push(sessions[i]!);
      else note(`acct-${kind}:${run.replies[0]?.code ?? 'no answer'}`);
    }
    (kind === 'Start' ? ack.starts : ack.stops).push(...done);
    return done;
  }

  function client(g: number): SidebandClient {
    const demo = JSON.parse(readFileSync(join(dirs[0]!, 'demo.json'), 'utf8')) as { merchant: { keyId: string; privateKeyPath: string } };
    return new SidebandClient({ baseUrl: PUBLIC_ORIGIN, keyId: demo.merchant.keyId, privateKey: readFileSync(demo.merchant.privateKeyPath, 'utf8'), maxRetries: 4, timeoutMs: 5000, fetch: gateways[g]!.fetchFor(20_000) });
  }

  async function buy(online: Online[], round: number): Promise<void> {
    await Promise.all(
      online.map(async (s, i) => {
        const g = (round + i) % 3;
        try {
          // Every other purchase on the subscriber's bill, captured later: on PostgreSQL that
          // one is decided by one statement committed on its own (decision-statement.ts).
          const onBill = { settlement: 'provider_bill' as const, capture: 'manual' as const };
          const auth = await client(g).authorizations.create({ customer: { address: s.address, observedAt: new Date().toISOString() }, amount: 400 + ((round * 7 + i * 13) % 12) * 100, currency: 'EUR', ...(i % 2 === 1 ? onBill : { capture: 'automatic' as const }) }, { idempotencyKey: randomUUID() });
          ack.purchases.push({ login: s.login, address: s.address, auth });
        } catch (e) {
          note(`purchase:${(e as { code?: string }).code ?? (e as Error).message}`);
        }
      }),
    );
  }

  it('drives log-ins, accounting and purchases at all three while one is killed and restarted', async (t) => {
    let online: Online[] = [];
    const offline = new Set(Array.from({ length: SUBSCRIBERS }, (_, i) => `cl-${i}`));
    // Each gateway learns of `bng` by its announcement; until then it takes the NAS for the demo one and drops its packets.
    for (let g = 0; g < 3; g++) {
      for (let tries = 0; ; tries++) {
        const probe = await radclient(radius(g, 'auth'), 'auth', SECRET, [`User-Name = "nobody", User-Password = "wrong", Message-Authenticator = 0x00`], { retries: 1, timeout: 1 });
        if (probe.replies[0]?.code === 'Access-Reject') break;
        assert.ok(tries < 20, `gateway ${g} never learnt of the NAS`);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const want = [...offline].slice(0, 6);
      const accepted = await logIn(want, round % 3);
      for (const s of accepted) offline.delete(s.login);
      const started = await account('Start', accepted, (round + 1) % 3);
      online.push(...started);
      const purchases = buy(online, round);
      if (round === KILL_ROUND) await gateways[1]!.crash();
      await purchases;
      // Half go offline, at yet another gateway; their addresses rest, then go to others.
      const leaving = online.filter((_, i) => i % 2 === round % 2);
      const stopped = await account('Stop', leaving, (round + 2) % 3);
      online = online.filter((s) => !stopped.includes(s));
      for (const s of stopped) offline.add(s.login);
      // Long enough that some units come out of their hold-down for the next round.
      await new Promise((r) => setTimeout(r, HOLD_DOWN_S * 600));
    }
    assert.equal(gateways[1]!.kills, 1);
    const statuses: Record<string, number> = {};
    for (const p of ack.purchases) statuses[p.auth.status] = (statuses[p.auth.status] ?? 0) + 1;
    const reused = await ctx.store.db.selectFrom('bindings').select('address').groupBy('address').having((eb) => eb.fn.countAll(), '>', 1).execute();
    t.diagnostic(`acknowledged: ${ack.accepts.length} Accepts, ${ack.starts.length} Starts, ${ack.stops.length} Stops, purchases ${JSON.stringify(statuses)}; refused or unanswered: ${JSON.stringify(refused)}; ${reused.length} addresses bound more than once; restart took ${gateways[1]!.restartMs[0]} ms`);
    assert.ok(ack.accepts.length >= SUBSCRIBERS, `log-ins went through (${ack.accepts.length})`);
    assert.ok(ack.purchases.filter((p) => p.auth.status === 'captured').length > 0, `some purchases were charged: ${JSON.stringify(refused)}`);
  });

  it('no address was bound twice at one instant, nor to another subscriber within its hold-down', async () => {
    const rows = await ctx.store.db.selectFrom('bindings').innerJoin('sessions', 'sessions.id', 'bindings.session_id').select(['bindings.address', 'bindings.start_at', 'bindings.end_at', 'sessions.subscriber_id']).orderBy('bindings.address').orderBy('bindings.start_at').execute();
    for (let i = 1; i < rows.length; i++) {
      const prev = rows[i - 1]!;
      const cur = rows[i]!;
      if (prev.address !== cur.address) continue;
      assert.ok(prev.end_at !== null && cur.start_at >= prev.end_at, `${cur.address} bound again at ${cur.start_at} while held until ${prev.end_at ?? 'now'}`);
      if (prev.subscriber_id !== cur.subscriber_id) assert.ok(cur.start_at >= prev.end_at + HOLD_DOWN_S * 1000, `${cur.address} went to another subscriber ${cur.start_at - prev.end_at} ms after its release`);
    }
  });

  it('nothing acknowledged was lost: every Accept, Start and Stop is in the store', async () => {
    const sessions = await ctx.store.db.selectFrom('sessions').innerJoin('bindings', 'bindings.session_id', 'sessions.id').select(['sessions.login', 'sessions.status', 'sessions.acct_session_id', 'bindings.address']).execute();
    const find = (s: Online) => sessions.filter((r) => r.login === s.login && r.address === s.address);
    for (const s of ack.accepts) assert.ok(find(s).length > 0, `the Accept for ${s.login} at ${s.address} is in the store`);
    for (const s of ack.starts) assert.ok(find(s).some((r) => r.acct_session_id === s.acctSessionId), `the Start of ${s.acctSessionId} is in the store`);
    for (const s of ack.stops) assert.ok(find(s).some((r) => r.acct_session_id === s.acctSessionId && r.status === 'closed'), `the Stop of ${s.acctSessionId} closed its session`);
    const ids = new Set((await ctx.store.db.selectFrom('authorizations').select('id').execute()).map((r) => r.id));
    for (const p of ack.purchases) assert.ok(ids.has(p.auth.id), `the answered purchase ${p.auth.id} is in the store`);
  });

  it('every purchase was charged to whoever held the customer\'s address when the merchant saw it; the books balance; no limit passed', async () => {
    const db = ctx.store.db;
    // No purchase left halfway with the acquirer once the cluster settles.
    for (let waited = 0; (await db.selectFrom('authorizations').select('id').where('status', '=', 'processing').execute()).length > 0; waited += 100) {
      assert.ok(waited < 30_000, 'authorizations still processing 30 s after the load');
      await new Promise((r) => setTimeout(r, 100));
    }
    const auths = await db.selectFrom('authorizations').selectAll().execute();
    const bindings = await db.selectFrom('bindings').innerJoin('sessions', 'sessions.id', 'bindings.session_id').select(['bindings.address', 'bindings.start_at', 'bindings.end_at', 'sessions.subscriber_id']).execute();
    for (const a of auths) {
      const holders = bindings.filter((b) => b.address === a.customer_address && b.start_at <= a.observed_at && (b.end_at === null || b.end_at > a.observed_at));
      assert.equal(holders.length, 1, `${a.customer_address} had one holder when ${a.id} was seen`);
      assert.equal(holders[0]!.subscriber_id, a.subscriber_id, `${a.id} was charged to the holder of ${a.customer_address}`);
    }
    const ledger = await db.selectFrom('ledger_entries').select(['transaction_id', 'amount']).execute();
    const byTx = new Map<string, number>();
    for (const e of ledger) byTx.set(e.transaction_id, (byTx.get(e.transaction_id) ?? 0) + e.amount);
    for (const [tx, sum] of byTx) assert.equal(sum, 0, `ledger transaction ${tx} balances`);
    const spent = new Map<string, number>();
    for (const a of auths) spent.set(a.subscriber_id, (spent.get(a.subscriber_id) ?? 0) + (['processing', 'pending', 'approved'].includes(a.status) ? a.amount - a.captured_amount : 0) + a.captured_amount - a.refunded_amount);
    for (const [subscriber, total] of spent) assert.ok(total <= SPENDING_LIMIT, `${subscriber} spent ${total}, over ${SPENDING_LIMIT}`);
    for (const c of await db.selectFrom('cards').select(['id', 'credit_used']).execute()) assert.ok(c.credit_used <= CREDIT_LIMIT, `card ${c.id} used ${c.credit_used} of ${CREDIT_LIMIT}`);
  });

  it('the three gateways answer "who held A at T" alike', async () => {
    const bindings = await ctx.store.db.selectFrom('bindings').select(['address', 'start_at', 'end_at']).execute();
    const questions = bindings.flatMap((b) => [b.start_at + 1, ...(b.end_at !== null ? [b.end_at - 1, b.end_at + 1] : [])].map((at) => ({ address: b.address, at: new Date(at).toISOString() })));
    const ask = async (g: number, q: { address: string; at: string }) => {
      const res = await fetch(`http://${gateways[g]!.where().operatorHttp}/v1/resolve?address=${q.address}&at=${encodeURIComponent(q.at)}`, { headers: { authorization: `Bearer ${operatorToken}` } });
      const body = (await res.json()) as { subscriber?: { id: string }; binding?: { id: string } };
      return `${res.status} ${body.subscriber?.id ?? '-'} ${body.binding?.id ?? '-'}`;
    };
    // Each follows the others within a notification; the restarted one rebuilt from the store.
    for (let waited = 0; ; waited += 100) {
      const differing: string[] = [];
      for (const q of questions) {
        const answers = await Promise.all([0, 1, 2].map((g) => ask(g, q)));
        if (new Set(answers).size !== 1) differing.push(`${q.address} at ${q.at}: ${answers.join(' | ')}`);
      }
      if (differing.length === 0) break;
      assert.ok(waited < 5000, `the gateways disagree:\n${differing.slice(0, 5).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
