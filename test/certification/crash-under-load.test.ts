import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SidebandClient, type Authorization, type Movement } from '@sideband/merchant-sdk';
import { IDEMPOTENCY_LEASE_MS } from '../../src/certification/api/idempotency.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import type { Database } from '../../src/store/schema.ts';
import { dialects, throwawayDatabase, type TestDialect, type ThrowawayDatabase } from '../support/databases.ts';
import { haveRadclient, radclient } from '../support/radclient.ts';
import { RecordedOperations, successesOf, type Operation } from '../support/recorded-operations.ts';
import { RestartableGateway } from '../support/restartable-gateway.ts';
import { runCli } from '../support/run-cli.ts';
import { ephemeralPorts } from '../support/spawn-gateway.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

/*
 * A bounded load of authorizations (manual and automatic capture, card and provider_bill
 * settlement), captures (full and partial) and refunds through the SDK, retries on, while
 * the gateway is SIGKILLed and restarted on the same data. Then, from the store: every
 * answer the merchant got is there, one operation per key, the ledger balances, no limit
 * is passed and none is off from what the authorizations hold.
 */

/** The origin the merchant signs for; each run of the gateway listens on another port behind it. */
const PUBLIC_ORIGIN = 'https://pay.crash.example';
const OPERATIONS = 300;
// Early in the load, so that what follows the last kill overlaps the lease its keys wait out.
const KILLS_AT = [0.15, 0.35, 0.55].map((f) => Math.round(f * OPERATIONS));
const LAUNCH_EVERY_MS = 25;
const IN_FLIGHT = 64;

/** Limits chosen so the load runs into each: the card's credit, the spending limit, the confirmation threshold. */
const shoppers = [
  { login: 'crash-ada', spendingLimit: 100_000, autoApprove: 4_000, creditLimit: 20_000 as number | null },
  { login: 'crash-ben', spendingLimit: 25_000, autoApprove: 4_000, creditLimit: 200_000 },
  { login: 'crash-cy', spendingLimit: 60_000, autoApprove: 2_500, creditLimit: null },
  { login: 'crash-dee', spendingLimit: 40_000, autoApprove: 4_000, creditLimit: 30_000 },
];

/** Deterministic per seed (printed; SIDEBAND_TEST_CRASH_SEED replays one as far as timing allows). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where an answered status may have got to since: an answer is a floor, never undone. */
const reachable: Record<string, string[]> = {
  processing: ['processing', 'pending', 'approved', 'declined', 'captured', 'voided', 'expired', 'refunded'],
  pending: ['pending', 'processing', 'approved', 'declined', 'captured', 'voided', 'expired', 'refunded'],
  approved: ['approved', 'captured', 'voided', 'expired', 'refunded'],
  captured: ['captured', 'refunded'],
  refunded: ['refunded'],
  declined: ['declined'],
  voided: ['voided'],
  expired: ['expired'],
};
const OPEN = new Set(['processing', 'pending', 'approved']);
/** What an authorization holds against the subscriber's spending limit and the card's credit. */
const exposure = (a: { status: string; amount: number; captured_amount: number; refunded_amount: number }): number =>
  OPEN.has(a.status) ? a.amount - a.refunded_amount : a.captured_amount - a.refunded_amount;

type Rows<T extends keyof Database> = Array<Database[T]>;
interface Snapshot {
  authorizations: Rows<'authorizations'>;
  events: Rows<'authorization_events'>;
  keys: Rows<'idempotency_keys'>;
  ledger: Rows<'ledger_entries'>;
  subscribers: Rows<'subscribers'>;
  cards: Rows<'cards'>;
  instructions: Rows<'acquirer_instructions'>;
}

for (const dialect of dialects) {
  describe(`the gateway SIGKILLed under load on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing' }, () => {
    let database: ThrowawayDatabase;
    let gateway: RestartableGateway | null = null;
    const ops = new RecordedOperations();
    const seed = Number(process.env.SIDEBAND_TEST_CRASH_SEED ?? randomBytes(4).readUInt32BE());
    const timings: Record<string, number> = {};
    let exitCode: number | null = null;
    let stillProcessing = -1;
    let merchantId = '';
    let kills = 0;
    let restartMs: number[] = [];
    const leftByKill: KillReport[] = [];
    let store: Store | undefined;
    const subscriberIds = new Map<string, string>();
    let s: Snapshot;

    before(async () => {
      const t0 = Date.now();
      database = await throwawayDatabase(dialect);
      const args = ['--data-dir', database.dataDir, ...(database.databaseUrl ? ['--database-url', database.databaseUrl] : [])];
      gateway = await RestartableGateway.start(args, { ...ephemeralPorts, SIDEBAND_MERCHANT_PUBLIC_ORIGIN: PUBLIC_ORIGIN });
      const demo = JSON.parse(readFileSync(join(database.dataDir, 'demo.json'), 'utf8')) as { nas: { secret: string }; merchant: { id: string; keyId: string; privateKeyPath: string }; operator: { token: string } };
      merchantId = demo.merchant.id;
      store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
      const addresses = await prepareShoppers(dialect, args, gateway, store, demo);
      timings.setup = Date.now() - t0;

      const client = new SidebandClient({ baseUrl: PUBLIC_ORIGIN, keyId: demo.merchant.keyId, privateKey: readFileSync(demo.merchant.privateKeyPath, 'utf8'), maxRetries: 4, timeoutMs: 5000, fetch: ops.recording(gateway.fetchFor()) });
      const t1 = Date.now();
      const db = store.db;
      const lastKill = await driveLoad(client, (i) => crashAimed(gateway!, db, AIMS[i % AIMS.length]!, leftByKill), ops, addresses, rng(seed), dialect);
      timings.load = Date.now() - t1;
      kills = gateway.kills;
      restartMs = [...gateway.restartMs];

      // A merchant reconciling: each undecided request again with its own key, until a key
      // its killed holder left runs out of lease and the retry resumes or re-runs it.
      const t2 = Date.now();
      await ops.settle(client, Math.max(Date.now(), lastKill + IDEMPOTENCY_LEASE_MS) + 15_000);
      timings.settle = Date.now() - t2;

      stillProcessing = (await db.selectFrom('authorizations').select('id').where('status', '=', 'processing').execute()).length;
      exitCode = await gateway.stop();
      gateway = null;
      s = {
        authorizations: await db.selectFrom('authorizations').selectAll().execute(),
        events: await db.selectFrom('authorization_events').selectAll().execute(),
        keys: await db.selectFrom('idempotency_keys').selectAll().execute(),
        ledger: await db.selectFrom('ledger_entries').selectAll().execute(),
        subscribers: await db.selectFrom('subscribers').selectAll().execute(),
        cards: await db.selectFrom('cards').selectAll().execute(),
        instructions: await db.selectFrom('acquirer_instructions').selectAll().execute(),
      };
      for (const row of s.subscribers) subscriberIds.set(row.login, row.id);
      timings.total = Date.now() - t0;
    });
    after(async () => {
      await gateway?.stop();
      await store?.close();
      await database?.drop();
    });

    it('was killed at least three times mid-load, and every request got a definitive answer, none a refusal', (t) => {
      const all = ops.all();
      const count = (f: (op: Operation) => boolean) => all.filter(f).length;
      const refused = new Map<string, number>();
      for (const op of all) if ('refused' in op.outcome) refused.set(op.outcome.refused, (refused.get(op.outcome.refused) ?? 0) + 1);
      const received = all.flatMap((op) => op.received);
      const declines = new Map<string, number>();
      for (const op of all) {
        if ('ok' in op.outcome && 'status' in op.outcome.ok && op.outcome.ok.status !== 'approved' && op.outcome.ok.status !== 'captured') {
          const why = `${op.outcome.ok.status} ${op.outcome.ok.reason ?? ''}`.trim();
          declines.set(why, (declines.get(why) ?? 0) + 1);
        }
      }
      t.diagnostic(`${dialect}: seed ${seed}; setup ${timings.setup} ms, load ${timings.load} ms, settling ${timings.settle} ms, in all ${timings.total} ms`);
      t.diagnostic(`${dialect}: ${kills} SIGKILLs, each followed by a restart on the same data (${restartMs.join(', ')} ms to come up); ${leftByKill.map((l, i) => `kill ${i + 1} aimed at ${l.aim === 'anywhere' ? 'any moment' : `a moment with ${l.aim === 'key' ? 'a key in progress' : 'an authorization processing'} (${l.seen ? 'seen' : 'not seen'})`} left ${l.keys.length} keys in progress and ${l.processing.length} authorizations processing`).join('; ')}; the last run stopped by SIGTERM with exit code ${exitCode}`);
      t.diagnostic(`${dialect}: operations attempted ${all.length} (create ${count((o) => o.kind === 'create')}, capture ${count((o) => o.kind === 'capture')}, refund ${count((o) => o.kind === 'refund')}); succeeded ${count((o) => 'ok' in o.outcome)} (purchases not approved: ${[...declines].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}); refused ${[...refused].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
      t.diagnostic(`${dialect}: retried ${count((o) => o.received.length > 1)} operations (${received.length} exchanges: ${received.filter((r) => 'error' in r).length} dropped connections, ${received.filter((r) => 'status' in r && r.status === 409).length} in-progress answers, ${received.filter((r) => 'status' in r && r.status >= 500).length} 5xx); ${count((o) => o.answeredLate)} answered only by a retry after the load; ${ops.undecided().length} never answered`);
      assert.ok(kills >= 3, `killed ${kills} times`);
      assert.deepEqual(ops.undecided().map((o) => `${o.key}: ${JSON.stringify(o.outcome)}`), [], 'every operation was answered in the end');
      // The load only asks what the answers it got allow (a capture of an approval, a refund
      // of a capture), so a refusal means an operation took effect twice or not as answered.
      assert.deepEqual(Object.fromEntries(refused), {}, 'no request refused');
      assert.equal(stillProcessing, 0, 'no authorization stuck processing once its request was retried');
      assert.equal(exitCode, 0, 'the last run stops cleanly');
    });

    it('holds every success the merchant received, exactly as it was answered', (t) => {
      const auths = new Map(s.authorizations.map((a) => [a.id, a]));
      const events = new Map(s.events.map((e) => [e.id, e]));
      const keys = new Map(s.keys.filter((k) => k.merchant_id === merchantId).map((k) => [k.key, k]));
      let checked = 0;
      for (const op of ops.all()) {
        const successes = successesOf(op);
        if (successes.length === 0) continue;
        const first = successes[0]!;
        for (const again of successes.slice(1)) assert.deepEqual(again, first, `${op.key}: a replay is the original answer`);
        const stored = keys.get(op.key);
        assert.ok(stored, `${op.key}: its key is stored`);
        assert.equal(stored.status, 'done', `${op.key}: its key is done`);
        assert.equal(stored.response_status, first.status, `${op.key}: the stored status is the one received`);
        assert.equal(stored.response_body, first.body, `${op.key}: the stored answer is the one received`);
        if (op.kind === 'create') {
          const answer = JSON.parse(first.body) as Authorization;
          const row = auths.get(answer.id);
          assert.ok(row, `${op.key}: authorization ${answer.id} exists`);
          assert.equal(row.idempotency_key, op.key);
          assert.deepEqual([row.amount, row.currency, row.capture_mode, row.settlement], [answer.amount, answer.currency, answer.capture, answer.settlement], `${op.key}: as answered`);
          assert.ok(reachable[answer.status]?.includes(row.status), `${op.key}: answered ${answer.status}, stored ${row.status}`);
          assert.ok(row.captured_amount >= answer.capturedAmount && row.refunded_amount >= answer.refundedAmount, `${op.key}: amounts never go back`);
        } else {
          const answer = JSON.parse(first.body) as Movement;
          const event = events.get(answer.id);
          assert.ok(event, `${op.key}: ${op.kind} ${answer.id} is an event`);
          assert.deepEqual([event.type, event.amount, event.authorization_id], [op.kind, answer.amount, op.authorizationId], `${op.key}: as answered`);
        }
        checked++;
      }
      t.diagnostic(`${dialect}: ${checked} successful answers found in the store as received (idempotency_keys, authorizations, authorization_events)`);
      assert.ok(checked > 50, `enough successes to mean something (${checked})`);
    });

    it('made one operation per key: one authorization per create key, one movement per capture or refund key, none unasked', (t) => {
      const sent = new Map(ops.all().map((op) => [op.key, op]));
      const byKey = new Map<string, number>();
      for (const a of s.authorizations) {
        assert.ok(a.idempotency_key !== null && sent.get(a.idempotency_key)?.kind === 'create', `authorization ${a.id} was asked for by a create`);
        byKey.set(a.idempotency_key, (byKey.get(a.idempotency_key) ?? 0) + 1);
      }
      assert.deepEqual([...byKey].filter(([, n]) => n > 1), [], 'at most one authorization per key');
      for (const k of s.keys) assert.ok(sent.has(k.key) && k.status === 'done', `stored key ${k.key} was sent, and is done`);
      // Which movement each capture or refund key's stored answer names.
      const answeredBy = new Map<string, string[]>();
      for (const k of s.keys) {
        const op = sent.get(k.key);
        if (op?.kind === 'create' || k.status !== 'done' || k.response_status !== 201) continue;
        const movement = JSON.parse(k.response_body!) as Movement;
        answeredBy.set(movement.id, [...(answeredBy.get(movement.id) ?? []), k.key]);
      }
      const auths = new Map(s.authorizations.map((a) => [a.id, a]));
      const sums = new Map<string, { capture: number; refund: number; captures: number; refunds: number; automatic: number }>();
      for (const e of s.events.filter((x) => x.type === 'capture' || x.type === 'refund')) {
        const a = auths.get(e.authorization_id)!;
        const sum = sums.get(a.id) ?? { capture: 0, refund: 0, captures: 0, refunds: 0, automatic: 0 };
        sums.set(a.id, sum);
        const keys = answeredBy.get(e.id) ?? [];
        assert.ok(keys.length <= 1, `${e.type} ${e.id} answered to one key, not ${keys.join(', ')}`);
        if (e.type === 'capture') {
          sum.capture += e.amount!;
          sum.captures++;
          if (keys.length === 1) {
            assert.equal(sent.get(keys[0]!)!.kind, 'capture', `capture ${e.id} answered a capture key`);
          } else {
            // The one capture no key of its own asked for: an automatic capture's, in full.
            sum.automatic++;
            assert.ok(a.capture_mode === 'automatic' && e.amount === a.amount && sum.automatic === 1, `capture ${e.id} of ${a.id} was asked for`);
          }
        } else {
          sum.refund += e.amount!;
          sum.refunds++;
          assert.equal(keys.length, 1, `refund ${e.id} of ${a.id} answered one refund key`);
          assert.equal(sent.get(keys[0]!)!.kind, 'refund', `refund ${e.id} answered a refund key`);
        }
      }
      const instructions = (id: string, op: string) => s.instructions.filter((i) => i.authorization_id === id && i.operation === op).length;
      for (const a of s.authorizations) {
        const sum = sums.get(a.id) ?? { capture: 0, refund: 0, captures: 0, refunds: 0 };
        assert.deepEqual([a.captured_amount, a.refunded_amount], [sum.capture, sum.refund], `${a.id}: its amounts are its movements`);
        if (a.acquirer_reference !== null) assert.deepEqual([instructions(a.id, 'capture'), instructions(a.id, 'refund')], [sum.captures, sum.refunds], `${a.id}: one acquirer instruction per movement`);
      }
      assert.deepEqual(s.instructions.filter((i) => i.status === 'failed').map((i) => i.id), [], 'no acquirer instruction failed');
      t.diagnostic(`${dialect}: ${s.authorizations.length} authorizations, ${s.events.filter((e) => e.type === 'capture').length} captures, ${s.events.filter((e) => e.type === 'refund').length} refunds, ${s.instructions.length} acquirer instructions (${s.instructions.filter((i) => i.status === 'pending').length} still pending), ${s.keys.length} keys: one each`);
    });

    it('balances the ledger per transaction and per currency, and its holds are the authorizations\'', (t) => {
      const byTxn = new Map<string, number>();
      const byCurrency = new Map<string, number>();
      const balance = new Map<string, number>();
      for (const e of s.ledger) {
        byTxn.set(e.transaction_id, (byTxn.get(e.transaction_id) ?? 0) + e.amount);
        byCurrency.set(e.currency, (byCurrency.get(e.currency) ?? 0) + e.amount);
        balance.set(e.account, (balance.get(e.account) ?? 0) + e.amount);
      }
      assert.deepEqual([...byTxn].filter(([, sum]) => sum !== 0), [], 'every ledger transaction sums to zero');
      assert.deepEqual([...byCurrency].filter(([, sum]) => sum !== 0), [], 'the whole ledger sums to zero per currency');
      for (const [login, id] of subscriberIds) {
        const mine = s.authorizations.filter((a) => a.subscriber_id === id);
        const held = mine.filter((a) => OPEN.has(a.status)).reduce((n, a) => n + a.amount - a.captured_amount, 0);
        const spent = mine.reduce((n, a) => n + a.captured_amount - a.refunded_amount, 0);
        assert.deepEqual([balance.get(`subscriber:${id}:held`) ?? 0, balance.get(`subscriber:${id}:spent`) ?? 0], [held, spent], `${login}: held and spent in the ledger are the authorizations'`);
      }
      t.diagnostic(`${dialect}: ${byTxn.size} ledger transactions (${s.ledger.length} entries) sum to zero, each and in all; held and spent agree for ${subscriberIds.size} subscribers`);
    });

    it('passes no limit, and each limit carries exactly the open holds plus what is captured and not refunded', (t) => {
      let atLimit = 0;
      for (const shopper of shoppers) {
        const sub = s.subscribers.find((x) => x.login === shopper.login)!;
        const mine = s.authorizations.filter((a) => a.subscriber_id === sub.id);
        assert.ok(sub.amount_used <= sub.spending_limit, `${shopper.login}: ${sub.amount_used} used of ${sub.spending_limit}`);
        assert.equal(sub.amount_used, mine.reduce((n, a) => n + exposure(a), 0), `${shopper.login}: amount_used is what the authorizations hold`);
        const card = s.cards.find((c) => c.subscriber_id === sub.id)!;
        if (shopper.creditLimit !== null) assert.ok(card.credit_used <= shopper.creditLimit, `${shopper.login}: card carries ${card.credit_used} of ${shopper.creditLimit}`);
        assert.equal(card.credit_used, mine.filter((a) => a.card_id === card.id).reduce((n, a) => n + exposure(a), 0), `${shopper.login}: credit_used is what the card's authorizations hold`);
        atLimit += mine.filter((a) => a.reason === 'SPENDING_LIMIT_EXCEEDED' || a.reason === 'CREDIT_LIMIT_EXCEEDED').length;
      }
      t.diagnostic(`${dialect}: spending limits and card credit hold for ${shoppers.length} subscribers; ${atLimit} purchases were declined at a limit`);
    });
  });
}

/** Subscribers with cards (CLI), logged in by a NAS (radclient), seen visiting the shop (operator API). */
async function prepareShoppers(dialect: TestDialect, args: string[], gateway: RestartableGateway, store: Store, demo: { nas: { secret: string }; operator: { token: string } }): Promise<string[]> {
  for (const [i, shopper] of shoppers.entries()) {
    const added = await runCli([...args, 'subscriber', 'add', shopper.login, '--password', `${shopper.login}-password`, '--limit', String(shopper.spendingLimit), '--auto-approve', String(shopper.autoApprove)]);
    assert.equal(added.code, 0, added.stderr);
    const card = await runCli([...args, 'subscriber', 'add-card', shopper.login, '--number', testCardNumber(40 + i), '--expiry', futureExpiry(), '--holder', 'Crash Tester', ...(shopper.creditLimit !== null ? ['--credit-limit', String(shopper.creditLimit)] : [])]);
    assert.equal(card.code, 0, card.stderr);
  }
  const login = await radclient(gateway.where().radiusAuth!, 'auth', demo.nas.secret, shoppers.map((x, i) => `User-Name = ${x.login}, User-Password = "${x.login}-password", Message-Authenticator = 0x00, NAS-Port = ${i + 1}`));
  assert.deepEqual(login.replies.map((r) => r.code), shoppers.map(() => 'Access-Accept'), `${dialect}: every shopper logs in`);
  const addresses = login.replies.map((r) => r.attributes['Framed-IP-Address']!);
  const pushed = await fetch(`http://${gateway.where().operatorHttp}/v1/destinations`, {
    method: 'POST', headers: { authorization: `Bearer ${demo.operator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ observations: addresses.map((address) => ({ source: { address }, destination: '203.0.113.80' })) }),
  });
  assert.deepEqual(await pushed.json(), { received: shoppers.length, attributed: shoppers.length, unattributed: 0, unattributedObservations: [] });
  // The visits must be in the store before the first kill: memory does not survive one.
  for (let waited = 0; ; waited += 50) {
    const rows = await store.db.selectFrom('session_destinations').select('session_id').execute();
    if (rows.length >= shoppers.length) break;
    assert.ok(waited < 10_000, 'the visits reach the store within 10 s');
    await sleep(50);
  }
  return addresses;
}

/** What a kill aims at: a request between its key and its answer, a card purchase waiting on the acquirer, or nothing in particular. */
type Aim = 'key' | 'processing' | 'anywhere';
const AIMS: Aim[] = ['processing', 'key', 'anywhere'];
interface KillReport { aim: Aim; seen: boolean; keys: string[]; processing: string[] }

/**
 * SIGKILLs the gateway once the store shows what `aim` asks for (or after 500 ms without),
 * so that kills land inside the windows a crash can hurt, also on SQLite where a request
 * passes through them in a few milliseconds; then notes what the kill left behind. What an
 * earlier kill left (and no retry has taken up yet) does not count.
 */
async function crashAimed(gateway: RestartableGateway, db: Store['db'], aim: Aim, reports: KillReport[]): Promise<void> {
  const earlier = new Set(reports.flatMap((r) => [...r.keys, ...r.processing]));
  const fresh = (ids: string[]) => ids.filter((id) => !earlier.has(id));
  const inProgress = async () => fresh((await db.selectFrom('idempotency_keys').select('key').where('status', '=', 'in_progress').execute()).map((r) => r.key));
  const processing = async () => fresh((await db.selectFrom('authorizations').select('id').where('status', '=', 'processing').execute()).map((r) => r.id));
  let seen = aim === 'anywhere';
  for (const until = Date.now() + 500; !seen && Date.now() < until; ) {
    seen = (await (aim === 'key' ? inProgress() : processing())).length > 0;
    if (!seen) await new Promise((r) => setImmediate(r));
  }
  await gateway.crash(async () => {
    reports.push({ aim, seen, keys: await inProgress(), processing: await processing() });
  });
}

/**
 * The load: purchases start at a steady pace (open loop, so requests stuck on a killed
 * run's key do not stall the rest), each one create, then maybe captures and a refund,
 * each under a key the test chose; the gateway is SIGKILLed as the count passes each of
 * KILLS_AT. Resolves with when the last kill happened.
 */
async function driveLoad(client: SidebandClient, crash: (i: number) => Promise<void>, ops: RecordedOperations, addresses: string[], random: () => number, dialect: TestDialect): Promise<number> {
  let attempted = 0;
  const thresholds = KILLS_AT.map((n) => {
    let reached = () => {};
    const promise = new Promise<void>((resolve) => (reached = resolve));
    return { n, promise, reached };
  });
  ops.onAttempt(() => {
    attempted++;
    for (const th of thresholds) if (attempted >= th.n) th.reached();
  });
  let lastKill = 0;
  let killerFailed: unknown = null;
  let loadOver = false;
  let kills = 0;
  const killer = (async () => {
    for (const th of thresholds) {
      await th.promise;
      if (loadOver) return;
      await sleep(random() * 40);
      await crash(kills++);
      lastKill = Date.now();
    }
  })().catch((e: unknown) => void (killerFailed = e));

  const purchase = async (n: number): Promise<void> => {
    const address = addresses[Math.floor(random() * addresses.length)]!;
    const amount = 100 + Math.floor(random() * 3_400);
    const capture = random() < 0.6 ? 'manual' : 'automatic';
    const settlement = random() < 0.7 ? 'card' : 'provider_bill';
    const key = (step: string) => `${dialect}-${n}-${step}`;
    const created = await ops.run(client, 'create', key('create'), null, (c) => c.authorizations.create({ customer: { address }, amount, currency: 'EUR', capture, settlement, merchantReference: `crash/${n}` }, { idempotencyKey: key('create') }));
    if (!created || (created.status !== 'approved' && created.status !== 'captured')) return;
    const id = created.id;
    let captured = created.capturedAmount;
    if (created.status === 'approved') {
      const partial = random() < 0.5 ? Math.max(1, Math.floor(amount * 0.4)) : undefined;
      const first = await ops.run(client, 'capture', key('capture-1'), id, (c) => c.authorizations.capture(id, partial === undefined ? {} : { amount: partial }, { idempotencyKey: key('capture-1') }));
      if (!first) return;
      captured += first.amount;
      if (partial !== undefined && random() < 0.5) {
        const rest = await ops.run(client, 'capture', key('capture-2'), id, (c) => c.authorizations.capture(id, {}, { idempotencyKey: key('capture-2') }));
        if (!rest) return;
        captured += rest.amount;
      }
    }
    if (captured > 0 && random() < 0.6) {
      const part = random() < 0.5 ? Math.max(1, Math.floor(captured / 3)) : undefined;
      await ops.run(client, 'refund', key('refund'), id, (c) => c.authorizations.refund(id, part === undefined ? { reason: 'returned' } : { amount: part, reason: 'partly returned' }, { idempotencyKey: key('refund') }));
    }
  };

  const inFlight = new Set<Promise<void>>();
  const hardStop = Date.now() + 40_000;
  for (let n = 0; (attempted < OPERATIONS || kills < KILLS_AT.length) && killerFailed === null && Date.now() < hardStop; n++) {
    const p = purchase(n).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    await sleep(LAUNCH_EVERY_MS);
  }
  await Promise.all(inFlight);
  loadOver = true;
  for (const th of thresholds) th.reached();
  await killer;
  if (killerFailed !== null) throw killerFailed;
  return lastKill;
}
