import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SessionService, type AccountingFacts } from '../../../src/aaa/service/session-service.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { GroupCommit } from '../../../src/store/group-commit.ts';
import { testContext, type TestContext } from '../../support/contexts.ts';
import { dialects } from '../../support/databases.ts';
import { checkedAfterEach } from '../../support/model-run.ts';

// Sessions of a NAS that hands out its own addresses, starting, moving between a few
// addresses and stopping in any order, against a model of who holds what
// (docs/radius.md, "A session that changes address"). After every step the store's open
// bindings, this gateway's memory and the history resolution answers must agree with the
// model, under both policies; at the end, so must a gateway rebuilt from the store.

const ADDRESSES = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const SLOTS = 6;

type Policy = 'trust-nas' | 'refuse';

interface Model {
  policy: Policy;
  clock: number;
  /** Per slot: never started, open at an address (or none), or closed. */
  sessions: Array<{ state: 'none' | 'open' | 'closed'; address: string | null }>;
  /** When each address changed hands, and to whom (slot or null): resolution's expected history. */
  history: Array<{ address: string; at: number; slot: number | null }>;
}

interface Real {
  t: TestContext;
  sessions: SessionService;
  nasId: string;
  ids: Array<string | null>;
  run: number;
}

const facts = (r: Real, slot: number, address: string | null, sessionTime: number | null = null, terminateCause: string | null = null): AccountingFacts => ({
  nasId: r.nasId, login: `mover-${slot}`, classValue: null, acctSessionId: `run${r.run}-slot${slot}`, nasIdentifier: null, nasIpAddress: null, nasPort: slot, nasPortId: null,
  framedAddress: address, sessionTime, inputOctets: null, outputOctets: null, terminateCause,
});

const holderIn = (m: Model, address: string): number | null => {
  const i = m.sessions.findIndex((s) => s.state === 'open' && s.address === address);
  return i < 0 ? null : i;
};

/** What the runs exercised, so that a run that tried nothing is seen. */
const seen = new Map<string, number>();
const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

/** The model's rule for one open session claiming `address` now: what the policy gives it. */
function claim(m: Model, slot: number, address: string): void {
  const holder = holderIn(m, address);
  if (holder === slot) {
    saw('same address');
    return;
  }
  if (holder !== null) {
    if (m.policy === 'refuse') {
      saw('refused');
      return;
    }
    m.sessions[holder] = { state: 'closed', address: null };
    saw('holder closed');
  }
  const s = m.sessions[slot]!;
  saw(s.address === null ? 'bound' : 'moved');
  if (s.address !== null) m.history.push({ address: s.address, at: m.clock, slot: null });
  s.address = address;
  m.history.push({ address, at: m.clock, slot });
}

class Tick implements fc.AsyncCommand<Model, Real> {
  constructor(private readonly seconds: number) {}
  check = () => true;
  async run(m: Model): Promise<void> {
    m.clock += this.seconds * 1000;
  }
  toString = () => `tick ${this.seconds} s`;
}

const slotsIn = (m: Readonly<Model>, state: 'none' | 'open'): number[] => m.sessions.flatMap((s, i) => (s.state === state ? [i] : []));

class Report implements fc.AsyncCommand<Model, Real> {
  constructor(
    private readonly pick: number,
    private readonly address: number,
    private readonly kind: 'start' | 'interim',
  ) {}
  private slot = -1;
  check = (m: Readonly<Model>) => slotsIn(m, this.kind === 'start' ? 'none' : 'open').length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const slots = slotsIn(m, this.kind === 'start' ? 'none' : 'open');
    const slot = (this.slot = slots[this.pick % slots.length]!);
    m.clock += 1000;
    const address = ADDRESSES[this.address]!;
    const id = await r.sessions.account(this.kind, facts(r, slot, address, this.kind === 'start' ? null : 1), m.clock, m.clock).then((o) => o.sessionId);
    r.ids[slot] ??= id;
    assert.equal(id, r.ids[slot], `the report is about slot ${slot}'s session`);
    if (this.kind === 'start') m.sessions[slot] = { state: 'open', address: null };
    claim(m, slot, address);
  }
  toString = () => `${this.kind} slot ${this.slot} on ${ADDRESSES[this.address]}`;
}

class Stop implements fc.AsyncCommand<Model, Real> {
  constructor(
    private readonly pick: number,
    private readonly address: number | null,
  ) {}
  private slot = -1;
  check = (m: Readonly<Model>) => slotsIn(m, 'open').length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const slots = slotsIn(m, 'open');
    const slot = (this.slot = slots[this.pick % slots.length]!);
    m.clock += 1000;
    // The Stop may name another address (recorded, nothing moves) or none.
    await r.sessions.account('stop', facts(r, slot, this.address === null ? null : ADDRESSES[this.address]!, 1, 'User-Request'), m.clock, m.clock);
    const s = m.sessions[slot]!;
    if (s.address !== null) m.history.push({ address: s.address, at: m.clock, slot: null });
    m.sessions[slot] = { state: 'closed', address: null };
    saw('stopped');
  }
  toString = () => `stop slot ${this.slot}${this.address === null ? '' : ` naming ${ADDRESSES[this.address]}`}`;
}

async function agree(m: Model, r: Real): Promise<void> {
  const db = r.t.ctx.store.db;
  const open = await db.selectFrom('bindings').innerJoin('sessions', 'sessions.id', 'bindings.session_id').select(['bindings.address', 'bindings.session_id']).where('bindings.end_at', 'is', null).where('sessions.nas_id', '=', r.nasId).execute();
  assert.equal(new Set(open.map((b) => b.address)).size, open.length, 'no address has two open bindings');
  for (const address of ADDRESSES) {
    const slot = holderIn(m, address);
    const expected = slot === null ? undefined : r.ids[slot]!;
    assert.equal(open.find((b) => b.address === address)?.session_id, expected, `the store's holder of ${address}`);
    assert.equal(r.sessions.holderOf(address), expected, `memory's holder of ${address}`);
  }
  const rows = await db.selectFrom('sessions').select(['id', 'status']).where('nas_id', '=', r.nasId).execute();
  for (let slot = 0; slot < SLOTS; slot++) {
    const id = r.ids[slot];
    if (!id) continue;
    assert.equal(rows.find((x) => x.id === id)?.status === 'closed', m.sessions[slot]!.state === 'closed', `slot ${slot} closed or not`);
  }
}

/** Resolution's answer for each address just before, at and after every change the model saw. */
function checkHistory(m: Model, r: Real, sessions: SessionService): void {
  for (const address of ADDRESSES) {
    const changes = m.history.filter((h) => h.address === address);
    for (const c of changes) {
      for (const at of [c.at - 1, c.at, c.at + 500]) {
        const last = changes.filter((h) => h.at <= at).at(-1);
        const expected = last?.slot == null ? undefined : r.ids[last.slot]!;
        assert.equal(sessions.resolve(address, at)?.sessionId, expected, `who held ${address} at +${at - m.history[0]!.at} ms`);
      }
    }
  }
}

const commands = [
  fc.tuple(fc.nat(), fc.nat(ADDRESSES.length - 1)).map(([p, a]) => new Report(p, a, 'start')),
  fc.tuple(fc.nat(), fc.nat(ADDRESSES.length - 1)).map(([p, a]) => new Report(p, a, 'interim')),
  fc.tuple(fc.nat(), fc.nat(ADDRESSES.length - 1)).map(([p, a]) => new Report(p, a, 'interim')),
  fc.tuple(fc.nat(), fc.nat(ADDRESSES.length - 1)).map(([p, a]) => new Report(p, a, 'interim')),
  fc.tuple(fc.nat(), fc.option(fc.nat(ADDRESSES.length - 1), { nil: null })).map(([p, a]) => new Stop(p, a)),
  fc.integer({ min: 1, max: 60 }).map((s) => new Tick(s)),
];

for (const dialect of dialects) {
  describe(`address moves against their model on ${dialect}`, () => {
    let t: TestContext;
    let nasId: string;
    let run = 0;
    const logger = createTestLogger(`address-moves-model-${dialect}`);

    before(async () => {
      t = await testContext(dialect, `address-moves-model-${dialect}`);
      nasId = (await t.ctx.network.addNas({ name: 'own', address: '127.0.0.1', secret: 'own-nas-secret-16' })).id;
      for (let slot = 0; slot < SLOTS; slot++) await t.ctx.subscribers.add({ login: `mover-${slot}`, password: `mover-${slot}-password` });
    });
    after(async () => t?.dispose());

    for (const policy of ['trust-nas', 'refuse'] as const) {
      it(`starts, moves and stops in any order keep one holder per address and the history resolution answers (${policy})`, async (tc) => {
        seen.clear();
        const property =
          fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'large' }), async (cmds) => {
            const db = t.ctx.store.db;
            await db.deleteFrom('accounting_anomalies').execute();
            await db.deleteFrom('bindings').execute();
            await db.deleteFrom('sessions').execute();
            const commit = new GroupCommit(db);
            const sessions = new SessionService(t.ctx.store, commit, logger, 0, { addressConflict: policy });
            await sessions.rebuild();
            const model: Model = { policy, clock: Date.now() - 86_400_000, sessions: Array.from({ length: SLOTS }, () => ({ state: 'none', address: null })), history: [] };
            const real: Real = { t, sessions, nasId, ids: Array.from({ length: SLOTS }, () => null), run: run++ };
            try {
              await fc.asyncModelRun(() => ({ model, real }), checkedAfterEach(cmds, agree));
              checkHistory(model, real, sessions);
              const rebuilt = new SessionService(t.ctx.store, commit, logger, 0, { addressConflict: policy });
              await rebuilt.rebuild();
              for (const address of ADDRESSES) assert.equal(rebuilt.holderOf(address), sessions.holderOf(address), `a rebuilt gateway's holder of ${address}`);
              checkHistory(model, real, rebuilt);
            } finally {
              await commit.close();
            }
          });
        // A fixed seed's runs first, known to meet every case named below; then fresh random ones.
        await fc.assert(property, { seed: 1, numRuns: 25, endOnFailure: true, includeErrorInReport: true });
        tc.diagnostic(`exercised from seed 1: ${[...seen].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}`);
        for (const what of ['bound', 'moved', 'same address', 'stopped', policy === 'refuse' ? 'refused' : 'holder closed']) assert.ok(seen.has(what), `the runs exercised ${what}`);
        await fc.assert(property, { numRuns: 25, endOnFailure: true, includeErrorInReport: true });
      });
    }
  });
}
