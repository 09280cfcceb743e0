import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { endWebSessions, loginFormKey, pruneWebSessions, WebSessionStore } from '../../src/web/web-session-store.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

const IDLE = 30 * 60_000;

for (const dialect of dialects) {
  describe(`web sessions in the store (${dialect})`, () => {
    let t: TestContext;
    let portal: WebSessionStore<{ login: string | null }>;
    let console_: WebSessionStore<{ token: string | null }>;
    const rows = () => t.ctx.store.db.selectFrom('web_sessions').selectAll().execute();
    const masterKey = randomBytes(32);

    before(async () => {
      t = await testContext(dialect, `web-session-store-${dialect}`);
      portal = new WebSessionStore(t.ctx.store, 'portal', { idleMs: IDLE, perSubject: 3 }, { key: loginFormKey(masterKey, 'portal'), data: { login: null } });
      console_ = new WebSessionStore(t.ctx.store, 'console', { idleMs: IDLE, perSubject: 3 }, { key: loginFormKey(masterKey, 'console'), data: { token: null } });
    });
    after(async () => t?.dispose());

    it('keeps the hash of the id and sealed data, never the id or the data in clear', async () => {
      const s = await console_.create('ops', { token: 'sbop_secret-operator-token' });
      const stored = (await rows()).find((r) => r.subject === 'ops')!;
      const text = JSON.stringify(stored);
      assert.ok(!text.includes(s.id), 'the session id is not in the table');
      assert.ok(!text.includes('sbop_secret-operator-token'), 'the operator token is not in the table in clear');
      assert.equal(stored.csrf, s.csrf);
      const again = await console_.get(s.id);
      assert.deepEqual(again?.data, { token: 'sbop_secret-operator-token' });
      assert.equal(again?.subject, 'ops');
    });

    it('answers only the site that made the session, and nothing for an unknown or tampered id', async () => {
      const s = await portal.create('sub-1', { login: 'ada' });
      assert.equal(await console_.get(s.id), null);
      assert.equal(await portal.get(undefined), null);
      assert.equal(await portal.get(`${s.id.slice(0, -1)}${s.id.endsWith('A') ? 'B' : 'A'}`), null);
      assert.equal((await portal.get(s.id))?.data.login, 'ada');
    });

    it('forgets a session idle past its time, and a use moves its expiry on', async () => {
      const t0 = Date.now();
      const s = await portal.create('sub-2', { login: 'bob' }, t0);
      assert.ok(await portal.get(s.id, t0 + IDLE - 1000), 'used just before it would expire');
      assert.ok(await portal.get(s.id, t0 + IDLE + 1000), 'that use kept it');
      assert.equal(await portal.get(s.id, t0 + 3 * IDLE), null);
    });

    it('a log-in form\'s session is stored nowhere; its CSRF token is bound to its cookie, its site and the keyring', async () => {
      const before = (await rows()).length;
      const fresh = Array.from({ length: 50 }, () => portal.formSession());
      assert.equal((await rows()).length, before, 'asking for the form writes nothing');
      assert.equal(new Set(fresh.map((f) => f.id)).size, 50);
      const s = fresh[0]!;
      assert.deepEqual([s.subject, s.data], [null, { login: null }]);
      assert.equal(portal.formSession(s.id).csrf, s.csrf, 'the same cookie, the same token, on any gateway with this keyring');
      assert.notEqual(portal.formSession(fresh[1]!.id).csrf, s.csrf);
      assert.notEqual(console_.formSession(s.id).csrf, s.csrf, 'another site\'s form');
      const elsewhere = new WebSessionStore(t.ctx.store, 'portal', { idleMs: IDLE, perSubject: 3 }, { key: loginFormKey(randomBytes(32), 'portal'), data: { login: null } });
      assert.notEqual(elsewhere.formSession(s.id).csrf, s.csrf, 'another keyring');
      assert.notEqual(portal.formSession('short').id, 'short', 'an unusable cookie gets a new id');
      assert.equal(await portal.get(s.id), null, 'nor is it a signed-in session');
    });

    it('keeps at most perSubject sessions of one subject: one more sign-in ends the least recently used', async () => {
      const t0 = Date.now();
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await portal.create('sub-3', { login: 'cleo' }, t0 + i));
      // The first is used again, so the second is the least recently used.
      await portal.get(made[0]!.id, t0 + 5 * 60_000);
      const fourth = await portal.create('sub-3', { login: 'cleo' }, t0 + 6 * 60_000);
      const now = t0 + 7 * 60_000;
      assert.ok(await portal.get(made[0]!.id, now));
      assert.equal(await portal.get(made[1]!.id, now), null);
      assert.ok(await portal.get(made[2]!.id, now));
      assert.ok(await portal.get(fourth.id, now));
      assert.equal((await rows()).filter((r) => r.subject === 'sub-3').length, 3);
    });

    it('ends every session of one subject on one site, and log-out ends one', async () => {
      const a = await portal.create('sub-4', { login: 'dan' });
      const b = await portal.create('sub-4', { login: 'dan' });
      const other = await console_.create('sub-4', { token: 't' });
      await portal.destroy(a.id);
      assert.equal(await portal.get(a.id), null);
      assert.ok(await portal.get(b.id));
      assert.equal(await endWebSessions(t.ctx.store.db, 'portal', 'sub-4'), 1);
      assert.equal(await portal.get(b.id), null);
      assert.ok(await console_.get(other.id), 'the console\'s session of the same name stays');
    });

    it('suspending, closing or resetting the password of a subscriber signs them out of the portal', async () => {
      const subscribers = t.ctx.subscribers;
      for (const [login, change] of [['erin', (l: string) => subscribers.suspend(l)], ['finn', (l: string) => subscribers.close(l)], ['gus', (l: string) => subscribers.resetPassword(l, 'a-new-password-1')]] as const) {
        const { id } = await subscribers.add({ login, password: `${login}-password-1` });
        const s = await portal.create(id, { login });
        assert.ok(await portal.get(s.id));
        await change(login);
        assert.equal(await portal.get(s.id), null, `${login}: signed out`);
      }
    });

    it('pruning deletes the expired rows of every site and keeps the rest', async () => {
      const t0 = Date.now();
      const old = await console_.create('old-ops', { token: 'x' }, t0 - 2 * IDLE);
      const fresh = await console_.create('new-ops', { token: 'y' }, t0);
      assert.ok((await pruneWebSessions(t.ctx.store, t0)) >= 1);
      const left = await rows();
      assert.ok(!left.some((r) => r.subject === 'old-ops'));
      assert.ok(left.some((r) => r.subject === 'new-ops'));
      assert.equal(await console_.get(old.id, t0), null);
      assert.ok(await console_.get(fresh.id, t0));
    });
  });
}
