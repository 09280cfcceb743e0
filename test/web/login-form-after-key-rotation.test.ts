import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PortalClient } from '../support/portal-client.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

// The log-in form is stored nowhere: its token is signed under a master key. Gateways
// started before and after a `keys rotate` sign under different keys, and a browser's
// form shown by one may be posted to the other.

describe('the log-in form across two gateways after a key rotation', () => {
  let a: TestGateway;
  let c: TestGateway;
  const portal = (t: TestGateway) => `http://${t.gateway.listen.portalHttp}`;
  const operator = (t: TestGateway) => `http://${t.gateway.listen.operatorHttp}`;

  before(async () => {
    a = await startTestGateway('postgres', 'form-rotation-a');
    await a.gateway.context.subscribers.add({ login: 'hana', password: 'hana-password-1' });
    await a.gateway.context.vault.rotate();
    c = await startTestGateway('postgres', 'form-rotation-c', { vault: { keyFile: join(a.database.dataDir, 'master-keys.json') } }, { sharing: a.database });
  });
  after(async () => {
    await c?.dispose();
    await a?.dispose();
  });

  it('signs the subscriber in whichever gateway showed the form and whichever received it', async () => {
    for (const [shown, posted] of [[a, c], [c, a], [a, a]] as const) {
      const browser = new PortalClient(portal(shown));
      await browser.get('/login');
      const res = await browser.at(portal(posted)).post('/login', { login: 'hana', password: 'hana-password-1' });
      assert.equal(res.status, 303, `${shown === a ? 'a' : 'c'} → ${posted === a ? 'a' : 'c'}: ${res.body.slice(0, 200)}`);
    }
  });

  it('signs the operator in likewise', async () => {
    const browser = new PortalClient(operator(a));
    await browser.get('/console/login');
    assert.equal((await browser.at(operator(c)).post('/console/login', { token: a.token })).status, 303);
  });
});
