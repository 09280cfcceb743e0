import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimUnfinished, queueSessionDisconnect, recordOutcome } from '../../src/aaa/service/dynamic-authorization-queue.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

for (const dialect of dialects) {
  describe(`the dynamic-authorization queue on ${dialect}`, () => {
    let t: TestContext;
    const sessions: string[] = [];

    before(async () => {
      t = await testContext(dialect, `dac-claims-${dialect}`);
      const ctx = t.ctx;
      await ctx.network.addNas({ name: 'bng', address: '192.0.2.1/32', secret: 'a-shared-secret-of-length', coaPort: 1700 });
      const nas = await ctx.store.db.selectFrom('nas_clients').select('id').executeTakeFirstOrThrow();
      const now = Date.now();
      for (let i = 0; i < 40; i++) {
        const id = `ses_CLAIM${String(i).padStart(4, '0')}`;
        await ctx.store.db.insertInto('sessions').values({
          id, subscriber_id: null, login: `user${i}`, nas_id: nas.id, nas_identifier: null, nas_ip_address: '192.0.2.1', nas_port: i, nas_port_id: null, acct_session_id: `acct-${i}`, class: null,
          framed_address: null, pool_id: null, status: 'active', authorized_at: now, started_at: now, ended_at: null, last_seen_at: now, session_time: 0, input_octets: 0, output_octets: 0,
          terminate_cause: null, charged_seconds: 0, session_timeout: null, closed_by: null, port_key: null, calling_station_id: null,
        }).execute();
        sessions.push(id);
      }
    });
    after(async () => t.dispose());

    it('the coa port is stored with the NAS client and shown', async () => {
      const [nas] = await t.ctx.network.listNas();
      assert.equal(nas!.coaPort, 1700);
      await assert.rejects(t.ctx.network.addNas({ name: 'bad', address: '192.0.2.2/32', secret: 'a-shared-secret-of-length', coaPort: 70_000 }), (e: SidebandError) => e.code === 'REQUEST_INVALID' && e.param === 'coaPort');
    });

    it('requests queued from the command line are claimed by exactly one of two gateways claiming at once', async () => {
      const queued = [];
      for (const id of sessions) queued.push((await t.ctx.sessions.disconnect(id)).id);
      // The same session asked twice while the first is under way: one request, not two.
      assert.equal((await t.ctx.sessions.disconnect(sessions[0]!)).id, queued[0]);
      const now = Date.now();
      const [a, b] = await Promise.all([claimUnfinished(t.ctx.store.db, 'gateway-a', now, now - 60_000, 100), claimUnfinished(t.ctx.store.db, 'gateway-b', now, now - 60_000, 100)]);
      const ids = [...a, ...b].map((r) => r.id).sort();
      assert.deepEqual(ids, [...queued].sort(), 'every request claimed, none twice');
      assert.ok(a.every((r) => r.claimed_by === 'gateway-a') && b.every((r) => r.claimed_by === 'gateway-b'));
      // Claimed, they are nobody else's until the claim is older than every retry could last.
      assert.deepEqual(await claimUnfinished(t.ctx.store.db, 'gateway-c', now + 1, now - 60_000), []);
    });

    it('only the holder of a claim records the outcome; a stale claim is taken over and then recorded by its new holder', async () => {
      const [row] = await t.ctx.store.db.selectFrom('dynamic_authorizations').selectAll().where('session_id', '=', sessions[1]!).execute();
      const outcome = { status: 'ack' as const, attempts: 1, destination: '192.0.2.1:1700', errorCause: null, detail: null };
      const holder = row!.claimed_by!;
      assert.equal(await recordOutcome(t.ctx.store.db, row!.id, 'not-the-holder', outcome), false);
      const later = row!.claimed_at! + 120_000;
      const [taken] = (await claimUnfinished(t.ctx.store.db, 'gateway-c', later, later - 60_000, 100)).filter((r) => r.id === row!.id);
      assert.equal(taken?.claimed_by, 'gateway-c');
      assert.equal(await recordOutcome(t.ctx.store.db, row!.id, holder, outcome), false, 'the old holder lost it');
      assert.equal(await recordOutcome(t.ctx.store.db, row!.id, 'gateway-c', { ...outcome, status: 'nak', errorCause: 503 }), true);
      const [entry] = (await t.ctx.sessions.show(sessions[1]!)).dynamicAuthorizations;
      assert.equal(entry!.status, 'nak');
      assert.deepEqual(entry!.errorCause, { value: 503, name: 'Session-Context-Not-Found' });
    });

    it('a suspension and its disconnects commit together or not at all', async () => {
      const sub = await t.ctx.subscribers.add({ login: 'ivy', password: 'ivy-password' });
      await t.ctx.store.db.updateTable('sessions').set({ subscriber_id: sub.id }).where('id', 'in', [sessions[38]!, sessions[39]!]).execute();
      await t.ctx.store.db.deleteFrom('dynamic_authorizations').where('session_id', 'in', [sessions[38]!, sessions[39]!]).execute();
      // A failure inside the transaction (here: an unknown session refused) leaves neither the status nor a request.
      await assert.rejects(
        t.ctx.store.db.transaction().execute(async (tx) => {
          await tx.updateTable('subscribers').set({ status: 'suspended' }).where('id', '=', sub.id).execute();
          await queueSessionDisconnect(tx, 'ses_NONE', { requestedBy: 'test', reason: 'operator-disconnect' });
        }),
        (e: SidebandError) => e.code === 'SESSION_NOT_FOUND',
      );
      assert.equal((await t.ctx.subscribers.show('ivy')).status, 'active');
      const suspended = await t.ctx.subscribers.suspend('ivy');
      assert.equal(suspended.status, 'suspended');
      assert.deepEqual(suspended.dynamicAuthorizations.map((d) => [d.sessionId, d.request, d.status, d.reason]).sort(), [
        [sessions[38], 'Disconnect-Request', 'pending', 'subscriber-suspended'],
        [sessions[39], 'Disconnect-Request', 'pending', 'subscriber-suspended'],
      ]);
    });
  });
}
