import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AccountingService, type AccountingAnswer } from '../../../src/aaa/service/accounting-service.ts';
import { classFor, SessionService, type AccountingFacts } from '../../../src/aaa/service/session-service.ts';
import { AcctStatusType } from '../../../src/aaa/wire/attribute-values.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { afterCharge, authorized, deliver, heldAt, sweep, unseen, type ModelPacket, type ModelSession } from '../../support/accounting-reference-model.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects, type TestDialect } from '../../support/databases.ts';

// Accounting as a real access network delivers it — lost, duplicated, reordered, buffered
// and replayed, dated by Event-Timestamp or Acct-Delay-Time or not at all, with the
// sweeper running in between — against the reference model in
// test/support/accounting-reference-model.ts. After every step the session it touched
// must match the model; after every run, every session, binding, prepaid balance and
// resolution answer must, and no address may be held twice.

const MAX_DELAY_S = 2 * 3600;
const MAX_AHEAD_S = 60;
const STALE_S = 900;
const HOLD_DOWN_MS = 30 * 86_400_000;
const SLOTS = 4;

interface Plan {
  kind: 'pool' | 'nas';
  authorizeAfter: number;
  startDelay: number;
  interims: number;
  interval: number;
  tail: number;
  stops: boolean;
  prepaid: number | null;
}

interface WorldSession {
  plan: Plan;
  slot: number;
  login: string;
  subscriberId: string;
  authorizeAt: number;
  packets: ModelPacket[];
  address: string | null;
  realId: string | null;
  authorizedDone: boolean;
}

interface Sent {
  session: number;
  packet: ModelPacket;
}

interface Model {
  clock: number;
  world: WorldSession[];
  sessions: ModelSession[];
  remaining: Array<number | null>;
  undelivered: Sent[];
  delivered: Sent[];
}

interface Real {
  t: TestContext;
  sessions: SessionService;
  accounting: AccountingService;
  nasId: string;
  poolId: string;
}

const seen = new Map<string, number>();
const COVERING_SEED = Number(process.env.ACCOUNTING_MODEL_SEED ?? 1);
const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

function timeline(plan: Plan, authorizeAt: number): ModelPacket[] {
  const start = authorizeAt + plan.startDelay * 1000;
  const packets: ModelPacket[] = [{ kind: 'start', at: start, sessionTime: null, inputOctets: null, terminateCause: null }];
  for (let k = 1; k <= plan.interims; k++) packets.push({ kind: 'interim', at: start + k * plan.interval * 1000, sessionTime: k * plan.interval, inputOctets: k * plan.interval * 1000, terminateCause: null });
  const d = plan.interims * plan.interval + plan.tail;
  if (plan.stops) packets.push({ kind: 'stop', at: start + d * 1000, sessionTime: d, inputOctets: d * 1000, terminateCause: 'User-Request' });
  return packets;
}

const emitted = (m: Model, s: Sent) => s.packet.at <= m.clock && (m.world[s.session]!.plan.kind === 'nas' || m.world[s.session]!.authorizedDone);

function factsOf(w: WorldSession, p: ModelPacket, nasId: string): AccountingFacts {
  return {
    nasId, login: w.login, classValue: w.plan.kind === 'pool' ? classFor(w.realId!) : null, acctSessionId: `${w.plan.kind}-${w.slot}-acct`, nasIdentifier: 'model-nas', nasIpAddress: null,
    nasPort: (w.plan.kind === 'pool' ? 100 : 200) + w.slot, nasPortId: null, framedAddress: w.address, sessionTime: p.sessionTime, inputOctets: p.inputOctets, outputOctets: null, terminateCause: p.terminateCause,
  };
}

const statusType = { start: AcctStatusType.Start, interim: AcctStatusType['Interim-Update'], stop: AcctStatusType.Stop } as const;

async function compareSession(m: Model, r: Real, i: number): Promise<void> {
  const w = m.world[i]!;
  const s = m.sessions[i]!;
  if (s.status === 'none') {
    assert.equal(w.realId, null, `session ${i} was never accepted, yet the store has one`);
    return;
  }
  const db = r.t.ctx.store.db;
  const row = await db.selectFrom('sessions').selectAll().where('id', '=', w.realId!).executeTakeFirstOrThrow();
  const what = `session ${i} (${w.plan.kind})`;
  assert.deepEqual(
    { status: row.status, closedBy: row.closed_by, startedAt: row.started_at, endedAt: row.ended_at, sessionTime: row.session_time, inputOctets: row.input_octets, charged: row.charged_seconds, terminateCause: row.terminate_cause },
    { status: s.status, closedBy: s.closedBy, startedAt: s.startedAt, endedAt: s.endedAt, sessionTime: s.sessionTime, inputOctets: s.inputOctets, charged: s.charged, terminateCause: s.terminateCause },
    what,
  );
  if (s.status !== 'closed') assert.equal(row.last_seen_at, s.lastSeen, `${what} last seen`);
  const bindings = await db.selectFrom('bindings').select(['start_at', 'end_at']).where('session_id', '=', w.realId!).execute();
  assert.deepEqual(bindings.map((b) => [b.start_at, b.end_at]), s.bindingStart === null ? [] : [[s.bindingStart, s.bindingEnd]], `${what} binding`);
  const sub = await db.selectFrom('subscribers').select('seconds_remaining').where('id', '=', w.subscriberId).executeTakeFirstOrThrow();
  assert.equal(sub.seconds_remaining, m.remaining[i], `${what} prepaid seconds`);
}

async function checkEverything(m: Model, r: Real): Promise<void> {
  for (let i = 0; i < m.world.length; i++) await compareSession(m, r, i);
  const db = r.t.ctx.store.db;
  const count = await db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  assert.equal(Number(count.n), m.sessions.filter((s) => s.status !== 'none').length, 'no ghost sessions');
  const open = await db.selectFrom('bindings').select('address').where('end_at', 'is', null).execute();
  assert.equal(new Set(open.map((b) => b.address)).size, open.length, 'no address held twice');
  // Resolution: who held each address around every binding's edges.
  for (let i = 0; i < m.world.length; i++) {
    const w = m.world[i]!;
    const s = m.sessions[i]!;
    if (!w.address || s.bindingStart === null) continue;
    const probes = [s.bindingStart - 1000, s.bindingStart, s.bindingStart + 500, ...(s.bindingEnd !== null ? [s.bindingEnd - 1, s.bindingEnd] : [m.clock])];
    for (const at of probes) {
      const expected = m.world.findIndex((x, j) => x.address === w.address && heldAt(m.sessions[j]!, at));
      assert.equal(r.sessions.resolve(w.address, at)?.sessionId ?? null, expected < 0 ? null : m.world[expected]!.realId, `who held ${w.address} at +${at - m.world[0]!.authorizeAt} ms`);
    }
  }
}

type Dating = 'timestamp' | 'delay' | 'both' | 'live';
type Absurdity = 'ahead' | 'old-timestamp' | 'long-delay';

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(private readonly seconds: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const target = m.clock + this.seconds * 1000;
    const due = m.world.filter((w) => w.plan.kind === 'pool' && !w.authorizedDone && w.authorizeAt <= target).sort((a, b) => a.authorizeAt - b.authorizeAt);
    for (const w of due) {
      m.clock = Math.max(m.clock, w.authorizeAt);
      const a = await r.sessions.authorize({ subscriberId: w.subscriberId, login: w.login, nasId: r.nasId, poolId: r.poolId, nasPort: 100 + w.slot, nasPortId: null, nasIdentifier: 'model-nas', nasIpAddress: null, sessionTimeout: w.plan.prepaid, now: m.clock });
      assert.equal(a.reused, false);
      w.realId = a.sessionId;
      w.address = a.unit!.address;
      w.authorizedDone = true;
      authorized(m.sessions[w.slot]!, m.clock);
    }
    m.clock = target;
  }
  toString = () => `advance ${this.seconds} s`;
}

class Deliver implements fc.AsyncCommand<Model, Real> {
  constructor(
    private readonly pick: number,
    private readonly dating: Dating,
    private readonly again: boolean,
  ) {}
  private candidates(m: Readonly<Model>): Sent[] {
    return (this.again ? m.delivered : m.undelivered).filter((s) => emitted(m as Model, s));
  }
  check = (m: Readonly<Model>) => this.candidates(m).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const list = this.candidates(m);
    const sent = list[this.pick % list.length]!;
    if (!this.again) {
      m.undelivered.splice(m.undelivered.indexOf(sent), 1);
      m.delivered.push(sent);
    }
    const { packet: p } = sent;
    const w = m.world[sent.session]!;
    const delay = (m.clock - p.at) / 1000;
    const dating: Dating = this.dating === 'live' && delay !== 0 ? 'delay' : this.dating;
    const answer = await r.accounting.handle(
      {
        statusType: statusType[p.kind], facts: factsOf(w, p, r.nasId),
        eventTimestamp: dating === 'timestamp' || dating === 'both' ? p.at / 1000 : null,
        acctDelayTime: dating === 'delay' ? delay : dating === 'both' ? delay + 7 : null,
      },
      m.clock,
    );
    if (delay > MAX_DELAY_S) {
      assert.deepEqual(answer.answered ? 'answered' : answer.cause, dating === 'timestamp' || dating === 'both' ? 'event-timestamp-too-old' : 'acct-delay-time-too-long');
      saw('dropped as too old');
      return;
    }
    const s = m.sessions[sent.session]!;
    const expected = deliver(s, p, m.clock);
    m.remaining[sent.session] = afterCharge(m.remaining[sent.session]!, expected.charge);
    assert.ok(answer.answered, `answered ${p.kind}`);
    const outcome = (answer as Extract<AccountingAnswer, { answered: true }>).outcome!;
    w.realId ??= outcome.sessionId;
    assert.equal(outcome.sessionId, w.realId, `the ${p.kind} is about session ${sent.session}, no other`);
    assert.equal(outcome.anomaly, expected.anomaly, `${p.kind} at +${p.at - w.authorizeAt} ms`);
    saw(expected.anomaly ?? `${p.kind} in order`);
    await compareSession(m, r, sent.session);
  }
  toString = () => `deliver #${this.pick} by ${this.dating}${this.again ? ' again' : ''}`;
}

class Lose implements fc.AsyncCommand<Model, Real> {
  constructor(private readonly pick: number) {}
  check = (m: Readonly<Model>) => m.undelivered.some((s) => emitted(m as Model, s));
  async run(m: Model): Promise<void> {
    const list = m.undelivered.filter((s) => emitted(m, s));
    m.undelivered.splice(m.undelivered.indexOf(list[this.pick % list.length]!), 1);
    saw('lost');
  }
  toString = () => `lose #${this.pick}`;
}

class Absurd implements fc.AsyncCommand<Model, Real> {
  constructor(
    private readonly pick: number,
    private readonly how: Absurdity,
  ) {}
  check = (m: Readonly<Model>) => [...m.undelivered, ...m.delivered].some((s) => emitted(m as Model, s));
  async run(m: Model, r: Real): Promise<void> {
    const list = [...m.undelivered, ...m.delivered].filter((s) => emitted(m, s));
    const sent = list[this.pick % list.length]!;
    const w = m.world[sent.session]!;
    if (w.plan.kind === 'pool' && !w.realId) return;
    const dating = {
      'ahead': { eventTimestamp: (m.clock + (MAX_AHEAD_S + 5) * 1000) / 1000, acctDelayTime: null },
      'old-timestamp': { eventTimestamp: (m.clock - (MAX_DELAY_S + 5) * 1000) / 1000, acctDelayTime: null },
      'long-delay': { eventTimestamp: null, acctDelayTime: MAX_DELAY_S + 5 },
    }[this.how];
    const answer = await r.accounting.handle({ statusType: statusType[sent.packet.kind], facts: factsOf(w, sent.packet, r.nasId), ...dating }, m.clock);
    const cause = { 'ahead': 'event-timestamp-ahead', 'old-timestamp': 'event-timestamp-too-old', 'long-delay': 'acct-delay-time-too-long' }[this.how];
    assert.deepEqual(answer.answered ? 'answered' : answer.cause, cause);
    saw(`absurd ${this.how}`);
    await compareSession(m, r, sent.session);
  }
  toString = () => `absurd #${this.pick} ${this.how}`;
}

class RetryLogin implements fc.AsyncCommand<Model, Real> {
  constructor(private readonly pick: number) {}
  private candidates(m: Readonly<Model>): number[] {
    return m.sessions.flatMap((s, i) => (s.status === 'authorized' ? [i] : []));
  }
  check = (m: Readonly<Model>) => this.candidates(m).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const list = this.candidates(m);
    const i = list[this.pick % list.length]!;
    const w = m.world[i]!;
    const a = await r.sessions.authorize({ subscriberId: w.subscriberId, login: w.login, nasId: r.nasId, poolId: r.poolId, nasPort: 100 + w.slot, nasPortId: null, nasIdentifier: 'model-nas', nasIpAddress: null, sessionTimeout: w.plan.prepaid, now: m.clock });
    assert.deepEqual({ id: a.sessionId, address: a.unit?.address, reused: a.reused }, { id: w.realId, address: w.address, reused: true }, 'a retried log-in gets its authorization back');
    m.sessions[i]!.lastSeen = m.clock;
    saw('login retried');
    await compareSession(m, r, i);
  }
  toString = () => `retry log-in #${this.pick}`;
}

class Sweep implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    let expected = 0;
    m.sessions.forEach((s, i) => {
      const wasOpen = s.status === 'authorized' || s.status === 'active';
      const charge = sweep(s, m.clock, STALE_S * 1000);
      if (wasOpen && s.status === 'closed') expected++;
      m.remaining[i] = afterCharge(m.remaining[i]!, charge);
    });
    assert.equal(await r.sessions.sweep(STALE_S * 1000, m.clock), expected, 'sessions swept');
    if (expected > 0) saw('swept');
    for (let i = 0; i < m.world.length; i++) await compareSession(m, r, i);
  }
  toString = () => 'sweep';
}

const plan: fc.Arbitrary<Plan> = fc.record({
  kind: fc.constantFrom('pool' as const, 'nas' as const),
  authorizeAfter: fc.integer({ min: 0, max: 1200 }),
  startDelay: fc.integer({ min: 1, max: 20 }),
  interims: fc.integer({ min: 0, max: 3 }),
  interval: fc.constantFrom(60, 300, 600),
  tail: fc.integer({ min: 1, max: 600 }),
  stops: fc.constantFrom(true, true, true, false),
  prepaid: fc.option(fc.integer({ min: 30, max: 3000 }), { nil: null, freq: 3 }),
});

const deliverArb = fc.tuple(fc.nat(), fc.constantFrom<Dating>('timestamp', 'delay', 'both', 'live'), fc.integer({ min: 0, max: 4 })).map(([p, d, again]) => new Deliver(p, d, again === 0));
const commands = [
  fc.integer({ min: 1, max: 1800 }).map((s) => new Advance(s)),
  fc.integer({ min: 1, max: 120 }).map((s) => new Advance(s)),
  deliverArb,
  deliverArb,
  deliverArb,
  fc.nat().map((p) => new Lose(p)),
  fc.tuple(fc.nat(), fc.constantFrom<Absurdity>('ahead', 'old-timestamp', 'long-delay')).map(([p, h]) => new Absurd(p, h)),
  fc.nat().map((p) => new RetryLogin(p)),
  fc.constant(new Sweep()),
];

async function setUp(dialect: TestDialect): Promise<{ t: TestContext; nasId: string; poolId: string; subscribers: Record<string, string> }> {
  const t = await testContext(dialect, `accounting-model-${dialect}`);
  const pool = await t.ctx.network.addPool({ name: 'model', cidr: '10.99.0.0/24' });
  const nas = await t.ctx.network.addNas({ name: 'model-nas', address: '127.0.0.1', secret: 'model-nas-secret-16', pool: 'model' });
  const subscribers: Record<string, string> = {};
  for (const kind of ['pool', 'nas']) {
    for (let slot = 0; slot < SLOTS; slot++) subscribers[`${kind}-${slot}`] = (await t.ctx.subscribers.add({ login: `${kind}-${slot}`, password: `${kind}-${slot}-password` })).id;
  }
  return { t, nasId: nas.id, poolId: pool.id, subscribers };
}

for (const dialect of dialects) {
  describe(`the accounting service against its model on ${dialect}`, () => {
    let env: Awaited<ReturnType<typeof setUp>>;
    const logger = createTestLogger(`accounting-model-${dialect}`);
    // Whole seconds: Event-Timestamp and Acct-Delay-Time carry no finer time.
    const base = Math.floor(Date.now() / 1000) * 1000 - 10 * 86_400_000;

    before(async () => {
      env = await setUp(dialect);
    });
    after(async () => env?.t.dispose());

    it('late, lost, duplicated, reordered, buffered and absurdly dated accounting keeps the history the model says', async (t) => {
      seen.clear();
      const property =
        fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: SLOTS }), fc.commands(commands, { maxCommands: 60, size: 'large' }), async (plans, cmds) => {
          const db = env.t.ctx.store.db;
          await db.deleteFrom('accounting_anomalies').execute();
          await db.deleteFrom('bindings').execute();
          await db.deleteFrom('sessions').execute();
          const world: WorldSession[] = plans.map((p, i) => {
            const authorizeAt = base + p.authorizeAfter * 1000;
            return { plan: p, slot: i, login: `${p.kind}-${i}`, subscriberId: env.subscribers[`${p.kind}-${i}`]!, authorizeAt, packets: timeline(p, authorizeAt), address: p.kind === 'nas' ? `192.0.2.${10 + i}` : null, realId: null, authorizedDone: false };
          });
          for (const w of world) await db.updateTable('subscribers').set({ seconds_remaining: w.plan.prepaid }).where('id', '=', w.subscriberId).execute();
          const commit = new GroupCommit(db);
          const sessions = new SessionService(env.t.ctx.store, commit, logger, HOLD_DOWN_MS);
          await sessions.rebuild(base);
          const accounting = new AccountingService(sessions, { maxDelayMs: MAX_DELAY_S * 1000, maxAheadMs: MAX_AHEAD_S * 1000 }, logger, new Metrics({ defaults: false }));
          const model: Model = {
            clock: base,
            world,
            sessions: world.map((w) => unseen(w.plan.kind === 'pool' ? w.plan.prepaid : null)),
            remaining: world.map((w) => w.plan.prepaid),
            undelivered: world.flatMap((w, session) => w.packets.map((packet) => ({ session, packet }))),
            delivered: [],
          };
          const real: Real = { t: env.t, sessions, accounting, nasId: env.nasId, poolId: env.poolId };
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            await checkEverything(model, real);
          } finally {
            await commit.close();
          }
        });
      // Runs from a fixed seed first, known to meet every case named below, so that the
      // check tests the code and not the luck of the draw; then as many fresh random ones.
      await fc.assert(property, { seed: COVERING_SEED, numRuns: 50, endOnFailure: true, includeErrorInReport: true });
      t.diagnostic(`exercised from seed ${COVERING_SEED}: ${[...seen].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      for (const kind of ['late-interim', 'duplicate-stop', 'interim-without-start', 'stop-without-start', 'swept', 'lost']) assert.ok(seen.has(kind), `the runs exercised ${kind}`);
      seen.clear();
      await fc.assert(property, { numRuns: 50, endOnFailure: true, includeErrorInReport: true });
      t.diagnostic(`exercised by random runs: ${[...seen].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    });
  });
}
