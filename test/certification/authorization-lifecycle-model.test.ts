import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { SidebandApiError, type Authorization } from '@sideband/merchant-sdk';
import { dialects, type TestDialect } from '../support/databases.ts';
import { FaultyAcquirer } from '../support/faulty-acquirer.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';
import { checkedAfterEach } from '../support/model-run.ts';

// A model-based test of the authorization lifecycle (issue 9): random sequences of create,
// capture, void, refund, retries with the same key and concurrent duplicates, with faults
// injected into the acquirer (before or after its effect) and into the store (a trigger
// that makes the ledger insert, or the stored response, fail inside the transaction),
// checked against a reference model after every step.

const SPENDING_LIMIT = 6_000;
const CREDIT_LIMIT = 4_500;

type Fault = 'none' | 'acquirer-before' | 'acquirer-after' | 'store-ledger' | 'store-response';

interface ModelAuth {
  id: string;
  amount: number;
  captured: number;
  refunded: number;
  /** What was given back when the authorization ended uncaptured (void, decline). */
  released: number;
  status: Authorization['status'];
  automatic: boolean;
}

type Answer = { ok: true; body: unknown } | { ok: false; status: number; code: string };

interface Sent {
  kind: 'create' | 'capture' | 'void' | 'refund';
  key: string;
  send: () => Promise<unknown>;
  /** The first final answer (a 2xx or 4xx), which every retry must replay exactly. */
  answer: Answer | null;
  /** What to apply to the model when the request, retried, finally takes effect. */
  decide: () => Answer;
}

interface Model {
  auths: ModelAuth[];
  sent: Sent[];
}

interface Real {
  m: MerchantSetup;
  acquirer: FaultyAcquirer;
  address: string;
  subscriberId: string;
  dialect: TestDialect;
  /** `card` goes through the acquirer and holds the card's credit; `provider_bill` holds only the spending limit (PostgreSQL decides it in one statement). */
  settlement: Settlement;
}

type Settlement = 'card' | 'provider_bill';

/** What the subscriber's spending (and the card's credit) carries: every hold, less what was given back. */
const used = (model: Model) => model.auths.reduce((s, a) => s + a.amount - a.released - a.refunded, 0);

/** What the runs exercised, reported so that a run that tried nothing is seen. */
const seen = new Map<string, number>();
const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

async function answerOf(call: Promise<unknown>): Promise<Answer> {
  try {
    const body = await call;
    count('answered 2xx');
    return { ok: true, body };
  } catch (e) {
    if (e instanceof SidebandApiError) {
      count(`answered ${e.code}`);
      return { ok: false, status: e.status, code: e.code };
    }
    throw e;
  }
}

async function setFault(r: Real, fault: Fault): Promise<void> {
  const db = r.m.t.gateway.context.store.db;
  await sql`delete from fault_flags`.execute(db);
  r.acquirer.down = null;
  if (fault === 'store-ledger') await sql`insert into fault_flags (target) values ('ledger')`.execute(db);
  if (fault === 'store-response') await sql`insert into fault_flags (target) values ('response')`.execute(db);
  if (fault === 'acquirer-before') r.acquirer.failNext('authorize', 'before');
  if (fault === 'acquirer-after') r.acquirer.failNext('authorize', 'after');
}

async function clearFaults(r: Real): Promise<void> {
  await sql`delete from fault_flags`.execute(r.m.t.gateway.context.store.db);
  // An acquirer fault queued for a call that never came (a declined create) must not fire later.
  r.acquirer.clearFaults();
}

/** The model's answer to a create, and its effect on the model, computed from the state before it. */
function decideCreate(model: Model, amount: number, automatic: boolean, realId: () => string, settlement: Settlement): Answer {
  const spending = used(model);
  const credit = used(model);
  const declined = (reason: string): Answer => {
    model.auths.push({ id: realId(), amount, captured: 0, refunded: 0, released: amount, status: 'declined', automatic });
    return { ok: true, body: { status: 'declined', reason, amount, capturedAmount: 0 } };
  };
  const card = settlement === 'card';
  if (card && amount > CREDIT_LIMIT) return declined('CREDIT_LIMIT_EXCEEDED');
  if (spending + amount > SPENDING_LIMIT) return declined('SPENDING_LIMIT_EXCEEDED');
  if (card && credit + amount > CREDIT_LIMIT) return declined('CREDIT_LIMIT_EXCEEDED');
  if (card && amount % 100 === 51) return declined('CARD_DECLINED');
  model.auths.push({ id: realId(), amount, captured: automatic ? amount : 0, refunded: 0, released: 0, status: automatic ? 'captured' : 'approved', automatic });
  return { ok: true, body: { status: automatic ? 'captured' : 'approved', reason: null, amount, capturedAmount: automatic ? amount : 0 } };
}

/** Compares an answer with the model's expectation on the fields the model knows. */
function assertAnswer(actual: Answer, expected: Answer, what: string): void {
  if (!expected.ok) {
    assert.ok(!actual.ok, `${what}: expected ${expected.code}, got ${JSON.stringify(actual)}`);
    assert.equal(actual.code, expected.code, what);
    return;
  }
  assert.ok(actual.ok, `${what}: expected success, got ${JSON.stringify(actual)}`);
  const body = actual.body as Record<string, unknown>;
  for (const [k, v] of Object.entries(expected.body as Record<string, unknown>)) assert.deepEqual(body[k], v, `${what}: ${k}`);
}

const errorAnswer = (code: string, status: number): Answer => ({ ok: false, status, code });

/** Runs a sent request (the first time, or again with its key) and settles it against the model. */
async function deliver(model: Model, r: Real, sent: Sent, fault: Fault): Promise<void> {
  const expectedBefore = sent.answer;
  await setFault(r, fault);
  const actual = await answerOf(sent.send());
  await clearFaults(r);
  if (fault !== 'none') count(`fault ${fault}`);
  if (expectedBefore) {
    count('replays checked');
    // A key that has its answer replays it exactly, faults or not.
    assert.deepEqual(actual, expectedBefore, `replay of ${sent.kind} ${sent.key}`);
    return;
  }
  const db = r.m.t.gateway.context.store.db;
  if (!actual.ok && (actual.status >= 500 || actual.code === 'IDEMPOTENCY_KEY_IN_PROGRESS')) {
    // A fault: either nothing committed, or a card authorization is held, processing.
    const held = sent.kind === 'create' ? await db.selectFrom('authorizations').selectAll().where('idempotency_key', '=', sent.key).executeTakeFirst() : undefined;
    if (held) {
      assert.equal(held.status, 'processing', `a create that failed with ${actual.code} left ${held.status}`);
      if (!model.auths.some((a) => a.id === held.id)) model.auths.push({ id: held.id, amount: held.amount, captured: 0, refunded: 0, released: 0, status: 'processing', automatic: held.capture_mode === 'automatic' });
    }
    return;
  }
  // The first final answer: the model decides what it must be.
  const pendingAuth = sent.kind === 'create' ? model.auths.findIndex((a) => a.status === 'processing' && a.id === (actual.ok ? (actual.body as Authorization).id : '')) : -1;
  const pending = pendingAuth >= 0 ? model.auths.splice(pendingAuth, 1)[0]! : undefined;
  const expected = sent.decide();
  if (pending) {
    // A capture, void or refund sent while the create was pending holds this very object
    // (its `decide` runs when a retry of it finally takes effect): settle the create in it
    // rather than in the fresh one decideCreate made, or that retry would judge a stale
    // 'processing' authorization.
    Object.assign(pending, model.auths.pop()!);
    model.auths.push(pending);
  }
  assertAnswer(actual, expected, `${sent.kind} ${sent.key}`);
  sent.answer = actual;
}

class CreateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly amount: number, readonly automatic: boolean, readonly fault: Fault) {}
  check = () => true;
  async run(model: Model, r: Real): Promise<void> {
    const key = randomUUID();
    const params = { customer: { address: r.address }, amount: this.amount, currency: 'EUR', capture: this.automatic ? ('automatic' as const) : ('manual' as const), settlement: r.settlement };
    let id = '';
    const sent: Sent = {
      kind: 'create', key, answer: null,
      send: async () => {
        const a = await r.m.client.authorizations.create(params, { idempotencyKey: key });
        id = a.id;
        return a;
      },
      decide: () => decideCreate(model, this.amount, this.automatic, () => id, r.settlement),
    };
    model.sent.push(sent);
    await deliver(model, r, sent, this.fault);
  }
  toString = () => `create(${this.amount}, ${this.automatic ? 'automatic' : 'manual'}, ${this.fault})`;
}

class MovementCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly kind: 'capture' | 'void' | 'refund', readonly pick: number, readonly part: number | null, readonly fault: Fault) {}
  check = (model: Readonly<Model>) => model.auths.length > 0;
  async run(model: Model, r: Real): Promise<void> {
    const auth = model.auths[this.pick % model.auths.length]!;
    const key = randomUUID();
    const amountOf = (room: number) => (this.part === null ? undefined : Math.max(1, Math.round(room * this.part)) + (this.part > 0.9 ? 1_000 : 0));
    const requested = this.kind === 'capture' ? amountOf(auth.amount - auth.captured) : this.kind === 'refund' ? amountOf(auth.captured - auth.refunded) : undefined;
    const send = () => {
      if (this.kind === 'capture') return r.m.client.authorizations.capture(auth.id, requested === undefined ? {} : { amount: requested }, { idempotencyKey: key });
      if (this.kind === 'refund') return r.m.client.authorizations.refund(auth.id, requested === undefined ? {} : { amount: requested }, { idempotencyKey: key });
      return r.m.client.authorizations.void(auth.id, { idempotencyKey: key });
    };
    const decide = (): Answer => {
      if (this.kind === 'capture') {
        if (auth.status !== 'approved') return errorAnswer('AUTHORIZATION_STATE_INVALID', 409);
        const take = requested ?? auth.amount - auth.captured;
        if (take <= 0 || auth.captured + take > auth.amount) return errorAnswer('CAPTURE_EXCEEDS_AUTHORIZED', 400);
        auth.captured += take;
        if (auth.captured === auth.amount) auth.status = 'captured';
        return { ok: true, body: { object: 'capture', authorizationId: auth.id, amount: take } };
      }
      if (this.kind === 'refund') {
        if (!['approved', 'captured', 'refunded'].includes(auth.status) || auth.captured === 0) return errorAnswer('AUTHORIZATION_STATE_INVALID', 409);
        const give = requested ?? auth.captured - auth.refunded;
        if (give <= 0 || auth.refunded + give > auth.captured) return errorAnswer('REFUND_EXCEEDS_CAPTURED', 400);
        auth.refunded += give;
        if (auth.status === 'captured' && auth.refunded === auth.captured) auth.status = 'refunded';
        return { ok: true, body: { object: 'refund', authorizationId: auth.id, amount: give } };
      }
      if (auth.status !== 'approved' && auth.status !== 'pending') return errorAnswer('AUTHORIZATION_STATE_INVALID', 409);
      auth.status = auth.captured === 0 ? 'voided' : auth.refunded === auth.captured ? 'refunded' : 'captured';
      auth.released = auth.amount - auth.captured;
      return { ok: true, body: { status: auth.status, capturedAmount: auth.captured } };
    };
    const sent: Sent = { kind: this.kind, key, answer: null, send, decide };
    model.sent.push(sent);
    await deliver(model, r, sent, this.fault === 'acquirer-before' || this.fault === 'acquirer-after' ? 'none' : this.fault);
  }
  toString = () => `${this.kind}(#${this.pick}, ${this.part ?? 'rest'}, ${this.fault})`;
}

class RetryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.sent.length > 0;
  async run(model: Model, r: Real): Promise<void> {
    await deliver(model, r, model.sent[this.pick % model.sent.length]!, 'none');
  }
  toString = () => `retry(#${this.pick})`;
}

class ConcurrentDuplicatesCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly amount: number) {}
  check = () => true;
  async run(model: Model, r: Real): Promise<void> {
    const key = randomUUID();
    const params = { customer: { address: r.address }, amount: this.amount, currency: 'EUR', settlement: r.settlement };
    const answers = await Promise.all(Array.from({ length: 4 }, () => answerOf(r.m.client.authorizations.create(params, { idempotencyKey: key }))));
    const successes = answers.filter((a): a is { ok: true; body: Authorization } => a.ok);
    assert.ok(answers.every((a) => a.ok || a.code === 'IDEMPOTENCY_KEY_IN_PROGRESS'), JSON.stringify(answers));
    assert.ok(successes.length >= 1, 'one of the duplicates ran');
    for (const s of successes) assert.deepEqual(s.body, successes[0]!.body, 'duplicates get one answer');
    const first = successes[0]!;
    const expected = decideCreate(model, this.amount, false, () => first.body.id, r.settlement);
    assertAnswer(first, expected, 'concurrent duplicates');
    model.sent.push({ kind: 'create', key, answer: first, send: () => r.m.client.authorizations.create(params, { idempotencyKey: key }), decide: () => expected });
  }
  toString = () => `duplicates(${this.amount})`;
}

/** The invariants, read from the store, after every step. */
async function checkInvariants(model: Model, r: Real): Promise<void> {
  const db = r.m.t.gateway.context.store.db;
  const rows = await db.selectFrom('authorizations').selectAll().where('subscriber_id', '=', r.subscriberId).orderBy('id').execute();
  const known = new Map(model.auths.map((a) => [a.id, a]));
  // No operation exists without a request that asked for it, and each is as the model says.
  assert.equal(rows.length, model.auths.length, 'one authorization per request that made one');
  for (const row of rows) {
    const a = known.get(row.id);
    assert.ok(a, `authorization ${row.id} was made by no request`);
    assert.deepEqual([row.status, row.amount, row.captured_amount, row.refunded_amount], [a.status, a.amount, a.captured, a.refunded], `authorization ${row.id}`);
  }
  const keys = await db.selectFrom('authorizations').select(['idempotency_key', (eb) => eb.fn.countAll<number>().as('n')]).where('subscriber_id', '=', r.subscriberId).groupBy('idempotency_key').execute();
  assert.ok(keys.every((k) => Number(k.n) === 1), 'one authorization per idempotency key');
  const captures = await db.selectFrom('authorization_events').innerJoin('authorizations', 'authorizations.id', 'authorization_events.authorization_id').select((eb) => eb.fn.sum<number>('authorization_events.amount').as('s')).where('authorizations.subscriber_id', '=', r.subscriberId).where('authorization_events.type', '=', 'capture').executeTakeFirst();
  assert.equal(Number(captures?.s ?? 0), model.auths.reduce((s, a) => s + a.captured, 0), 'captured once per capture asked for');
  // The ledger sums to zero per currency.
  const ledger = await db.selectFrom('ledger_entries').select(['currency', (eb) => eb.fn.sum<number>('amount').as('s')]).groupBy('currency').execute();
  for (const l of ledger) assert.equal(Number(l.s), 0, `ledger in ${l.currency}`);
  // Held + spent never passes the spending limit nor the card's credit limit.
  const sub = await db.selectFrom('subscribers').select('amount_used').where('id', '=', r.subscriberId).executeTakeFirstOrThrow();
  const card = await db.selectFrom('cards').select('credit_used').where('subscriber_id', '=', r.subscriberId).executeTakeFirstOrThrow();
  assert.equal(sub.amount_used, used(model), 'spending used');
  assert.equal(card.credit_used, r.settlement === 'card' ? used(model) : 0, 'credit used');
  assert.ok(sub.amount_used <= SPENDING_LIMIT && card.credit_used <= CREDIT_LIMIT);
}

/** A test card the simulated acquirer approves (it declines numbers ending 0002 and 9995). */
function approvableCard(run: number): string {
  for (let i = 10 + (run % 40); ; i++) {
    const n = testCardNumber(i);
    if (!n.endsWith('0002') && !n.endsWith('9995')) return n;
  }
}

const fault = fc.constantFrom<Fault>('none', 'none', 'none', 'acquirer-before', 'acquirer-after', 'store-ledger', 'store-response');
const amount = fc.oneof(fc.integer({ min: 1, max: 2_500 }), fc.constantFrom(1_051, 4_600, 3_000));
const commands = [
  fc.tuple(amount, fc.boolean(), fault).map(([a, auto, f]) => new CreateCommand(a, auto, f)),
  fc.tuple(fc.constantFrom('capture' as const, 'void' as const, 'refund' as const), fc.nat(), fc.option(fc.double({ min: 0.1, max: 1, noNaN: true }), { nil: null }), fault).map(([k, p, part, f]) => new MovementCommand(k, p, part, f)),
  fc.nat().map((p) => new RetryCommand(p)),
  amount.map((a) => new ConcurrentDuplicatesCommand(a)),
];

for (const dialect of dialects) {
  describe(`the authorization lifecycle against its model on ${dialect}`, () => {
    let m: MerchantSetup;
    const acquirer = new FaultyAcquirer();
    let run = 0;

    before(async () => {
      m = await merchantSetup(dialect, `model-${dialect}`, { acquirer });
      const db = m.t.gateway.context.store.db;
      await sql`create table fault_flags (target text primary key)`.execute(db);
      if (dialect === 'sqlite') {
        await sql`create trigger fault_ledger before insert on ledger_entries when exists (select 1 from fault_flags where target = 'ledger') begin select raise(abort, 'injected store fault'); end`.execute(db);
        await sql`create trigger fault_response before update on idempotency_keys when new.status = 'done' and exists (select 1 from fault_flags where target = 'response') begin select raise(abort, 'injected store fault'); end`.execute(db);
      } else {
        await sql.raw(`create function fault_on() returns trigger language plpgsql as $$ begin
            if tg_argv[0] = 'response' then
              if new.status <> 'done' then return new; end if;
            end if;
            if exists (select 1 from fault_flags f where f.target = tg_argv[0]) then raise exception 'injected store fault'; end if;
            return new; end $$`).execute(db);
        await sql`create trigger fault_ledger before insert on ledger_entries for each row execute function fault_on('ledger')`.execute(db);
        await sql`create trigger fault_response before update on idempotency_keys for each row execute function fault_on('response')`.execute(db);
      }
    });
    after(async () => m?.dispose());

    /** A new shopper with a card under the model's limits, and an empty model: one run's start. */
    async function freshRun(settlement: Settlement): Promise<{ real: Real; model: Model }> {
      const login = `model-${dialect}-${run++}`;
      const { address, subscriberId } = await shopper(m, login, { spendingLimit: SPENDING_LIMIT, autoApproveLimit: 1_000_000, card: { number: approvableCard(run), expiry: futureExpiry(), creditLimit: CREDIT_LIMIT } });
      return { real: { m, acquirer, address, subscriberId, dialect, settlement }, model: { auths: [], sent: [] } };
    }

    // Found by the property (seed 313721549): a create whose answer could not be stored
    // leaves its authorization processing; a capture of it fails the same way; the create,
    // retried, approves; the capture, retried, must now capture.
    it('a capture first sent while its create was pending takes effect when retried after the create settles', async () => {
      const { real, model } = await freshRun('card');
      const script = [new CreateCommand(1_598, false, 'store-response'), new MovementCommand('capture', 0, 0.13, 'store-response'), new RetryCommand(0), new RetryCommand(1)];
      await fc.asyncModelRun(() => ({ model, real }), checkedAfterEach(script, checkInvariants));
      assert.deepEqual(model.auths.map((a) => [a.status, a.captured]), [['approved', 208]]);
    });

    // The acquirer failing before and after its effect, each create then retried: every run
    // meets both faults, which the random runs below do only now and then (their short
    // command lists draw an acquirer fault on a create that reaches the acquirer rarely
    // enough that 25 runs once met none, in CI).
    it('a card create whose acquirer fails before, and one whose acquirer fails after its effect, each settle when retried', async () => {
      const { real, model } = await freshRun('card');
      const faultsBefore = acquirer.faultsRaised;
      const script = [new CreateCommand(700, false, 'acquirer-before'), new RetryCommand(0), new CreateCommand(800, true, 'acquirer-after'), new RetryCommand(1)];
      await fc.asyncModelRun(() => ({ model, real }), checkedAfterEach(script, checkInvariants));
      assert.equal(acquirer.faultsRaised - faultsBefore, 2, 'both faults were raised');
      assert.deepEqual(model.auths.map((a) => [a.status, a.captured]), [['approved', 0], ['captured', 800]]);
    });

    for (const [settlement, numRuns] of [['card', 25], ['provider_bill', 15]] as const) {
      it(`random create / capture / void / refund / retry / duplicates with faults keep every invariant (${settlement})`, async (t) => {
        seen.clear();
        const faultsBefore = acquirer.faultsRaised;
        await fc.assert(
          fc.asyncProperty(fc.commands(commands, { maxCommands: 18, size: 'max' }), async (cmds) => {
            const { real, model } = await freshRun(settlement);
            await fc.asyncModelRun(() => ({ model, real }), checkedAfterEach(cmds, checkInvariants));
          }),
          { numRuns, endOnFailure: true, includeErrorInReport: true },
        );
        t.diagnostic(`exercised: ${[...seen].map(([k, v]) => `${k} ×${v}`).join(', ')}; acquirer faults raised ×${acquirer.faultsRaised - faultsBefore}`);
        assert.ok((seen.get('replays checked') ?? 0) > 0, 'the runs retried');
        // Acquirer faults are met for certain by the scripted case above; store faults, drawn
        // on every kind of command, by nearly every set of runs.
        if (settlement !== 'card') assert.ok((seen.get('fault store-ledger') ?? 0) + (seen.get('fault store-response') ?? 0) > 0, 'the runs met store faults');
      });
    }
  });
}
