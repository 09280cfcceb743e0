import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { DynamicAuthorizationView } from '../../../src/aaa/service/dynamic-authorization-queue.ts';
import { dialects } from '../../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../../support/merchant-harness.ts';
import { haveRadclient, radclient } from '../../support/radclient.ts';
import { runCli } from '../../support/run-cli.ts';
import { TestNas } from '../../support/test-nas.ts';

const SECRET = 'merchant-test-secret';
/** The NAS sends RADIUS from 127.0.0.1; its dynamic-authorization server listens here. */
const COA_HOST = '127.0.0.5';

for (const dialect of dialects) {
  describe(`what calls for Disconnect and CoA (RFC 5176): the spending rule, and a NAS's --coa-address, on ${dialect}`, { skip: haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    let m: MerchantSetup;
    let nas: TestNas;
    let g: string[];

    before(async () => {
      nas = await new TestNas(SECRET).start(COA_HOST);
      m = await merchantSetup(dialect, `coa-triggers-${dialect}`, { settlement: 'provider_bill', config: { radius: { dynamicAuthorization: { timeoutMs: 200, attempts: 3, pollMs: 50 } } } });
      g = ['--data-dir', m.t.database.dataDir, ...(m.t.database.databaseUrl ? ['--database-url', m.t.database.databaseUrl] : [])];
    });
    after(async () => {
      await m?.dispose();
      await nas?.close();
    });

    /** The session's history once it has `count` requests, each with an outcome (listening before each read, so none is missed). */
    const settled = async (sessionId: string, count: number): Promise<DynamicAuthorizationView[]> => {
      for (;;) {
        const next = once(m.t.gateway.authentication.dynamicAuthorization.events, 'recorded');
        const r = await m.t.operator(`/v1/sessions/${sessionId}`);
        const list = (r.body as { dynamicAuthorizations: DynamicAuthorizationView[] }).dynamicAuthorizations;
        if (list.length >= count && list.every((d) => d.status !== 'pending' && d.status !== 'sending')) return list;
        await next;
      }
    };

    it('`sideband nas update --coa-address` sends requests there, validated and audited', async () => {
      const bad = await runCli([...g, 'nas', 'update', 'bng', '--coa-address', '224.0.0.9']);
      assert.equal(bad.code, 65, bad.stderr);
      assert.match(bad.stderr, /NAS_COA_ADDRESS_INVALID/);
      const none = await runCli([...g, 'nas', 'update', 'bng']);
      assert.equal(none.code, 65, none.stderr);
      const ok = await runCli([...g, '--json', 'nas', 'update', 'bng', '--coa-address', COA_HOST, '--coa-port', String(nas.port)]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { coaAddress: string }).coaAddress, COA_HOST);
      const audit = await m.t.gateway.context.store.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'nas.update').execute();
      assert.equal(audit.length, 1);
      assert.match(String(audit[0]!.detail), /127\.0\.0\.5/);
      await m.t.gateway.authentication.nas.reload();
    });

    it('a purchase that spends the rest of the limit sends the CoA the rule calls for: Session-Timeout N from now', async () => {
      const s = await shopper(m, 'erin', { spendingLimit: 1000 });
      await runCli([...g, 'subscriber', 'set-limit', 'erin', '--spent-session-seconds', '300']).then((r) => assert.equal(r.code, 0, r.stderr));
      const seen = nas.received.length;
      const a = await m.client.authorizations.create({ customer: { address: s.address }, amount: 1000, currency: 'EUR' });
      assert.equal(a.status, 'approved');
      const request = await nas.nextRequest(seen);
      assert.equal(request.packet.code, 'CoA-Request');
      assert.equal(request.packet.integer('Session-Timeout'), 300);
      assert.equal(request.from.address, '127.0.0.1', 'sent from the gateway');
      const [entry] = await settled(s.sessionId, 1);
      assert.deepEqual([entry!.request, entry!.reason, entry!.status, entry!.sessionTimeout, entry!.destination], ['CoA-Request', 'spending-limit', 'ack', 300, `${COA_HOST}:${nas.port}`]);
    });

    it('with the rule at 0 a purchase that spends the rest disconnects the session, and log-ins are refused', async () => {
      const s = await shopper(m, 'fred', { spendingLimit: 500 });
      await m.t.gateway.context.subscribers.setLimit('fred', { spentSessionSeconds: 0 });
      const first = await m.client.authorizations.create({ customer: { address: s.address }, amount: 200, currency: 'EUR' });
      assert.equal(first.status, 'approved');
      assert.deepEqual(await settled(s.sessionId, 0), [], 'money left: nothing is sent');
      const seen = nas.received.length;
      await m.client.authorizations.create({ customer: { address: s.address }, amount: 300, currency: 'EUR' });
      assert.equal((await nas.nextRequest(seen)).packet.code, 'Disconnect-Request');
      const [entry] = await settled(s.sessionId, 1);
      assert.deepEqual([entry!.request, entry!.reason, entry!.status], ['Disconnect-Request', 'spending-limit', 'ack']);

      const login = await radclient(m.t.gateway.listen.radiusAuth!, 'auth', SECRET, ['User-Name = fred, User-Password = "fred-password", Message-Authenticator = 0x00, NAS-Port = 40']);
      assert.equal(login.replies[0]?.code, 'Access-Reject', login.output);
      assert.match(login.replies[0]!.attributes['Reply-Message']!, /AAA_SPENDING_EXHAUSTED/);
    });

    it('an operator lowering the limit under what was spent applies the rule at once', async () => {
      const s = await shopper(m, 'gina', { spendingLimit: 5000 });
      await m.t.gateway.context.subscribers.setLimit('gina', { spentSessionSeconds: 60 });
      await m.client.authorizations.create({ customer: { address: s.address }, amount: 1000, currency: 'EUR' });
      assert.deepEqual(await settled(s.sessionId, 0), []);
      const changed = await m.t.gateway.context.subscribers.setLimit('gina', { spendingLimit: 1000 });
      assert.equal(changed.dynamicAuthorizations.length, 1);
      assert.equal(changed.dynamicAuthorizations[0]!.reason, 'spending-limit');
      const [entry] = await settled(s.sessionId, 1);
      assert.equal(entry!.sessionTimeout, 60);
    });
  });
}
