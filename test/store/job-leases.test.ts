import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { JobLeases, LEASE_HOLDER_FILE } from '../../src/store/job-leases.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

/** A step: a holder asks for the lease after `dt` ms, or gives its leases back. */
type Step = { holder: number; dt: number; ttl: number; op: 'hold' | 'release' };

for (const dialect of dialects) {
  describe(`job leases on ${dialect}`, () => {
    let t: TestContext;
    before(async () => {
      t = await testContext(dialect, `job-leases-${dialect}`);
    });
    after(async () => t.dispose());

    it('one holder at a time; a lapsed lease goes to the next that asks; a released one at once', async () => {
      const a = new JobLeases(t.ctx.store, 'gateway-a');
      const b = new JobLeases(t.ctx.store, 'gateway-b');
      const t0 = 1_000_000;
      assert.equal(await a.hold('sweep', 10_000, t0), true);
      assert.equal(await b.hold('sweep', 10_000, t0 + 1), false, 'B waits while A holds it');
      assert.equal(await a.hold('sweep', 10_000, t0 + 6000), true, 'A renews past half its time');
      assert.equal(await b.hold('sweep', 10_000, t0 + 12_000), false, 'the renewal moved the expiry');
      assert.equal(await b.hold('sweep', 10_000, t0 + 16_001), true, 'A stopped renewing: B takes it');
      assert.equal(await a.hold('sweep', 10_000, t0 + 16_002), false);
      let ran = 0;
      await a.run('sweep', 10_000, async () => ran++, t0 + 16_003);
      await b.run('sweep', 10_000, async () => ran++, t0 + 16_004);
      assert.equal(ran, 1, 'only the holder ran the job');
      await b.releaseAll();
      assert.equal(await a.hold('sweep', 10_000, t0 + 16_005), true, 'a released lease is taken at once');
      const [lease] = await a.list();
      assert.equal(lease?.holder, 'gateway-a');
      await a.releaseAll();
    });

    it('a gateway restarted on a data directory takes over exactly the leases the one before it there held', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sideband-leases-'));
      try {
        const now = Date.now();
        const dead = new JobLeases(t.ctx.store, 'host/100/aaaaaa');
        const elsewhere = new JobLeases(t.ctx.store, 'host/100/bbbbbb');
        assert.equal(await dead.takeOverPredecessor(dir), 0, 'a first start has nobody to take over from');
        assert.equal(await dead.hold('channel-number one', 60_000, now), true);
        assert.equal(await elsewhere.hold('channel-number two', 60_000, now), true);
        // Killed: its leases stay until they lapse. Its successor on the directory:
        const next = new JobLeases(t.ctx.store, 'host/200/cccccc');
        assert.equal(await next.takeOverPredecessor(dir), 1);
        assert.equal(await next.hold('channel-number one', 60_000, now + 1), true, 'the dead one\'s claim is the successor\'s');
        assert.equal(await next.hold('channel-number two', 60_000, now + 1), false, 'another gateway\'s, with a name alike, is not');
        assert.equal(readFileSync(join(dir, LEASE_HOLDER_FILE), 'utf8').trim(), 'host/200/cccccc');
        await next.releaseAll();
        await elsewhere.releaseAll();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('model: no two holders ever hold one lease at the same instant (fast-check)', async () => {
      const step = fc.record({ holder: fc.integer({ min: 0, max: 2 }), dt: fc.integer({ min: 0, max: 8000 }), ttl: fc.constantFrom(5000, 10_000), op: fc.constantFrom<'hold' | 'release'>('hold', 'hold', 'hold', 'release') });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25, size: 'max' }), async (steps: Step[]) => {
          const name = `model-${run++}`;
          const leases = [0, 1, 2].map((i) => new JobLeases(t.ctx.store, `holder-${run}-${i}`));
          // The reference: who holds the lease in the store until when, and each holder's own belief.
          let model: { holder: number; until: number } | null = null;
          const believed = new Map<number, number>();
          const granted: Array<{ holder: number; from: number; until: number; releasedBefore: boolean }> = [];
          let released = false;
          let now = 5_000_000;
          for (const s of steps) {
            now += s.dt;
            if (s.op === 'release') {
              await t.ctx.store.db.deleteFrom('job_leases').where('name', '=', name).where('holder', '=', leases[s.holder]!.holder).execute();
              // releaseAll forgets every lease of the holder; here only this one matters.
              await leases[s.holder]!.releaseAll();
              if (model?.holder === s.holder) {
                model = null;
                released = true;
              }
              believed.delete(s.holder);
              continue;
            }
            const got = await leases[s.holder]!.hold(name, s.ttl, now);
            const mine = believed.get(s.holder);
            let expected: boolean;
            if (mine !== undefined && mine - now > s.ttl / 2) expected = true;
            else if (model === null || model.holder === s.holder || model.until <= now) {
              expected = true;
              model = { holder: s.holder, until: now + s.ttl };
              believed.set(s.holder, now + s.ttl);
            } else {
              expected = false;
              believed.delete(s.holder);
            }
            assert.equal(got, expected, `step ${JSON.stringify(s)} at ${now}`);
            if (got) {
              granted.push({ holder: s.holder, from: now, until: believed.get(s.holder)!, releasedBefore: released });
              released = false;
            }
          }
          // Each grant to another holder starts only once the one before it lapsed or was given back.
          for (let i = 1; i < granted.length; i++) {
            const prev = granted[i - 1]!;
            const cur = granted[i]!;
            if (cur.holder !== prev.holder) assert.ok(cur.from >= prev.until || cur.releasedBefore, `holder ${cur.holder} got the lease at ${cur.from} while ${prev.holder} held it until ${prev.until}`);
          }
        }),
        { numRuns: dialect === 'postgres' ? 25 : 50 },
      );
    });
  });
}
