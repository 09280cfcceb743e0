import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PortalClient } from '../support/portal-client.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/**
 * Two gateways behind one name, on one PostgreSQL database, and a load balancer that
 * sends each request of one browser to either: the portal's and the console's sessions
 * are in the database, so no sticky routing is needed, and a log-out or a suspension on
 * one gateway holds on the other at once.
 */
describe('portal and console sessions shared by two gateways on one PostgreSQL database', () => {
  let a: TestGateway;
  let b: TestGateway;
  const portal = (t: TestGateway): string => `http://${t.gateway.listen.portalHttp}`;
  const operator = (t: TestGateway): string => `http://${t.gateway.listen.operatorHttp}`;
  const autoApprove = async (login: string) => (await a.gateway.context.subscribers.show(login)).autoApproveLimit;

  before(async () => {
    a = await startTestGateway('postgres', 'sessions-across-gateways-a');
    b = await startTestGateway('postgres', 'sessions-across-gateways-b', { vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
    await a.gateway.context.subscribers.add({ login: 'hana', password: 'hana-password-1' });
    await a.gateway.context.subscribers.add({ login: 'ivo', password: 'ivo-password-1' });
  });
  after(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  it('signed in on A, a form posted on B is served; logged out on B, A refuses the session', async () => {
    const onA = new PortalClient(portal(a));
    assert.equal(await onA.signIn('hana', 'hana-password-1'), 303);
    assert.equal((await onA.get('/settings')).status, 200);

    const onB = onA.at(portal(b));
    const now = await onB.get('/now');
    assert.equal(now.status, 200);
    assert.match(now.body, /hana/);
    const saved = await onB.post('/settings/auto-approve', { autoApproveLimit: '1234' });
    assert.equal(saved.status, 303, saved.body.slice(0, 300));
    assert.equal(await autoApprove('hana'), 1234);

    await onB.get('/now');
    assert.equal((await onB.post('/logout', {})).status, 303);

    const stale = onA;
    const page = await stale.get('/now');
    assert.equal(page.status, 303);
    assert.equal(page.location, '/login');
    const refused = await stale.post('/settings/auto-approve', { autoApproveLimit: '99' });
    assert.equal(refused.status, 401);
    assert.match(refused.body, /WEB_SESSION_EXPIRED/);
    assert.equal(await autoApprove('hana'), 1234);
  });

  it('a suspension through B\'s operator API signs the subscriber out on A', async () => {
    const onA = new PortalClient(portal(a));
    assert.equal(await onA.signIn('ivo', 'ivo-password-1'), 303);
    assert.equal((await onA.get('/now')).status, 200);
    const res = await fetch(`${operator(b)}/v1/subscribers/ivo/suspend`, { method: 'POST', headers: { authorization: `Bearer ${b.token}` } });
    assert.equal(res.status, 200, await res.text());
    assert.equal((await onA.get('/now')).location, '/login');
  });

  it('the console: signed in on A, used on B, logged out on B, refused on A', async () => {
    const onA = new PortalClient(operator(a));
    await onA.get('/console/login');
    assert.equal((await onA.post('/console/login', { token: a.token })).status, 303);
    const onB = onA.at(operator(b));
    const page = await onB.get('/console/merchants');
    assert.equal(page.status, 200);
    assert.equal((await onB.post('/console/logout', {})).status, 303);
    assert.equal((await onA.get('/console/merchants')).location, '/console/login');
  });
});
