import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { MasterKey } from '../../src/vault/keyring.ts';
import { endWebSessions, LOGIN_FORM_LIFETIME_MS, pruneWebSessions, WebSessionStore, type FormKeys } from '../../src/web/web-session-store.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

const IDLE = 30 * 60_000;

/** A keyring as the form sees it: keys by id, one active; rotated and retired at will. */
class TestKeys implements FormKeys {
  private readonly keys = new Map<string, MasterKey>();
  active!: MasterKey;
  constructor() {
    this.rotate();
  }
  rotate(): void {
    const id = `mk-test-${this.keys.size}`;
    this.active = { id, key: randomBytes(32), createdAt: new Date().toISOString() };
    this.keys.set(id, this.active);
  }
  retire(id: string): void {
    this.keys.delete(id);
  }
  get ids(): string[] {
    return [...this.keys.keys()];
  }
  get(id: string): MasterKey {
    const k = this.keys.get(id);
    if (!k) throw new Error(`no key ${id}`);
    return k;
  }
}

for (const dialect of dialects) {
  describe(`web sessions in the store (${dialect})`, () => {
    let t: TestContext;
    let portal: WebSessionStore<{ login: string | null }>;
    let console_: WebSessionStore<{ token: string | null }>;
    const rows = () => t.ctx.store.db.selectFrom('web_sessions').selectAll().execute();
    const keys = new TestKeys();

    before(async () => {
      t = await testContext(dialect, `web-session-store-${dialect}`);
      portal = new WebSessionStore(t.ctx.store, 'portal', { idleMs: IDLE, perSubject: 3 }, { keys, data: { login: null } });
      console_ = new WebSessionStore(t.ctx.store, 'console', { idleMs: IDLE, perSubject: 3 }, { keys, data: { token: null } });
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

    it('a log-in form\'s session is stored nowhere; its token holds only for its cookie, its site, the form\'s lifetime and a key the keyring holds', async () => {
      const before = (await rows()).length;
      const fresh = Array.from({ length: 50 }, () => portal.formSession());
      assert.equal((await rows()).length, before, 'asking for the form writes nothing');
      assert.equal(new Set(fresh.map((f) => f.id)).size, 50);
      const s = fresh[0]!;
      assert.deepEqual([s.subject, s.data], [null, { login: null }]);
      assert.equal(portal.formToken(s.id, s.csrf), s.csrf, 'its own cookie, on any gateway holding the keyring');
      assert.equal(portal.formToken(fresh[1]!.id, s.csrf), undefined, 'another cookie');
      assert.equal(portal.formToken(undefined, s.csrf), undefined, 'no cookie');
      assert.equal(console_.formToken(s.id, s.csrf), undefined, 'another site');
      const [keyId, issued, mac] = s.csrf.split('.');
      assert.equal(portal.formToken(s.id, `${keyId}.${Number(issued) + 1}.${mac}`), undefined, 'another time');
      assert.equal(portal.formToken(s.id, `${keyId}.${issued}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`), undefined, 'a changed mac');
      assert.equal(portal.formToken(s.id, `${s.csrf}.x`), undefined);
      assert.equal(portal.formToken(s.id, s.csrf, Date.now() + LOGIN_FORM_LIFETIME_MS + 2000), undefined, 'shown too long ago');
      keys.rotate();
      const after = portal.formSession(s.id);
      assert.notEqual(after.csrf.split('.')[0], keyId, 'signed under the new active key');
      assert.equal(portal.formToken(s.id, s.csrf), s.csrf, 'a form shown before the rotation still holds while its key is kept');
      keys.retire(keyId!);
      assert.equal(portal.formToken(s.id, s.csrf), undefined, 'nor once its key is retired');
      assert.equal(portal.formToken(s.id, after.csrf), after.csrf);
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
