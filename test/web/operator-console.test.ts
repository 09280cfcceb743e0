import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

describe('the operator console at /console/', () => {
  let m: MerchantSetup;
  let c: PortalClient;
  let shop: { address: string; sessionId: string };
  let authorizationId: string;
  const card = testCardNumber(42);

  before(async () => {
    m = await merchantSetup('sqlite', 'operator-console');
    shop = await shopper(m, 'cleo', { card: { number: card, expiry: futureExpiry() } });
    const a = await m.client.authorizations.create({ customer: { address: shop.address }, amount: 1_500, currency: 'EUR', description: 'a <b>bold</b> lamp' });
    authorizationId = a.id;
    c = new PortalClient(`http://${m.t.gateway.listen.operatorHttp}`);
  });
  after(async () => m?.dispose());

  it('asks for an operator token and refuses a wrong one', async () => {
    const first = await c.get('/console/');
    assert.equal(first.status, 303);
    assert.equal(first.location, '/console/login');
    const login = await c.get('/console/login');
    assert.match(login.body, /<label for="token">Operator token<\/label>/);
    assert.match(login.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal((await c.post('/console/login', { token: 'sbop_not-a-token' })).status, 401);
    const ok = await c.post('/console/login', { token: m.t.token });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/console/resolve');
  });

  it('answers who held an address, and says so when nobody did', async () => {
    const held = await c.get(`/console/resolve?address=${shop.address}`);
    assert.equal(held.status, 200);
    assert.match(held.body, /cleo/);
    assert.ok(held.body.includes(shop.sessionId));
    const nobody = await c.get('/console/resolve?address=198.51.100.99');
    assert.match(nobody.body, /RESOLVE_NOT_FOUND/);
  });

  it('lists a merchant\'s authorizations from its page\'s link, and refuses a limit that is not a page size', async () => {
    const mine = await c.get(`/console/authorizations?merchant=${m.merchantId}`);
    assert.ok(mine.body.includes('lamp'));
    assert.ok(mine.body.includes(`name="merchant" value="${m.merchantId}"`), 'filtering by status keeps the merchant');
    assert.ok(!(await c.get('/console/authorizations?merchant=mer_someone_else')).body.includes('lamp'));
    const api = (path: string) => fetch(`http://${m.t.gateway.listen.operatorHttp}/v1${path}`, { headers: { authorization: `Bearer ${m.t.token}` } });
    for (const path of ['/authorizations?limit=-1', '/authorizations?limit=abc', '/subscribers?limit=abc', '/subscribers?limit=0', '/audit?limit=1.5']) {
      const r = await api(path);
      assert.equal(r.status, 400, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'FIELD_INVALID', path);
    }
    assert.equal((await api('/subscribers?limit=1')).status, 200);
  });

  it('never says a card number back, not even one the request itself named', async () => {
    const api = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/subscribers/${card}`, { headers: { authorization: `Bearer ${m.t.token}` } });
    assert.equal(api.status, 404);
    const body = await api.text();
    assert.ok(!body.includes(card) && body.includes(`[card ${card.slice(0, 6)}…${card.slice(-4)}]`), 'masked in the API\'s error');
    for (const path of [`/console/no-such-page-${card}`, `/console/authorizations/${card}`]) assert.ok(!(await c.get(path)).body.includes(card), path);
  });

  it('shows every page, escaped, and never a card number', async () => {
    const pages = ['/console/sessions', '/console/network', '/console/merchants', `/console/merchants/${m.merchantId}`, '/console/authorizations', `/console/authorizations/${authorizationId}`, '/console/calls', '/console/audit', '/console/audit?action=merchant.'];
    for (const path of pages) {
      const p = await c.get(path);
      assert.equal(p.status, 200, `${path}: ${p.body.slice(0, 300)}`);
      assert.ok(!p.body.includes(card), `${path} carries no card number`);
    }
    assert.match((await c.get('/console/sessions')).body, /<svg class="bar"[^>]*aria-label="[\d.]+% held"/);
    const list = await c.get('/console/authorizations?subscriber=cleo');
    assert.ok(list.body.includes('a &lt;b&gt;bold&lt;/b&gt; lamp') && !list.body.includes('<b>bold'));
    const detail = await c.get(`/console/authorizations/${authorizationId}`);
    assert.match(detail.body, /<td>approved<\/td>|<td>processing<\/td>|<td>captured<\/td>/);
    const audit = await c.get('/console/audit?action=merchant.');
    assert.match(audit.body, /merchant\.certify/);
    assert.doesNotMatch(audit.body, /subscriber\.add/);
  });

  it('certifies and revokes a merchant by its forms, and refuses a forged one', async () => {
    const evil = await m.t.gateway.context.merchants.add({ name: '<script>alert(1)</script>', settlement: 'card' });
    const page = await c.get(`/console/merchants/${evil.id}`);
    assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && !page.body.includes('<script>alert'));
    const forged = await c.post(`/console/merchants/${evil.id}/certify`, {}, { headers: { 'sec-fetch-site': 'same-site' } });
    assert.equal(forged.status, 403);
    assert.equal((await m.t.gateway.context.merchants.show(evil.id)).status, 'pending');
    assert.equal((await c.post(`/console/merchants/${evil.id}/certify`, {})).status, 303);
    assert.equal((await m.t.gateway.context.merchants.show(evil.id)).status, 'certified');
    await c.get(`/console/merchants/${evil.id}`);
    assert.equal((await c.post(`/console/merchants/${evil.id}/revoke`, {})).status, 303);
    assert.equal((await m.t.gateway.context.merchants.show(evil.id)).status, 'revoked');
    const audit = await m.t.operator(`/v1/audit?subject=${evil.id}`);
    assert.deepEqual((audit.body as { data: Array<{ action: string; actor: string }> }).data.map((e) => [e.action, e.actor]).slice(0, 2), [['merchant.revoke', 'operator:test'], ['merchant.certify', 'operator:test']]);
  });

  it('manages a merchant from its page: keys, networks, channel endpoint and webhook, audited as the operator', async () => {
    const id = m.merchantId;
    const show = () => m.t.gateway.context.merchants.show(id);
    const page = await c.get(`/console/merchants/${id}`);
    for (const label of ['Add key', 'Revoke key', 'Add network', 'Remove', 'Set channel', 'Change webhook']) assert.ok(page.body.includes(`>${label}</button>`), label);
    const { publicKey } = generateKeyPairSync('ed25519');
    const added = await c.post(`/console/merchants/${id}/keys`, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'sig', keyId: 'console-key-1' });
    assert.equal(added.status, 303, added.body);
    assert.match((await c.get(added.location!)).body, /Key added\./);
    assert.ok((await show()).keys.some((k) => k.keyId === 'console-key-1'));
    assert.equal((await c.post(`/console/merchants/${id}/keys/revoke`, { keyId: 'console-key-1' })).status, 303);
    assert.equal((await show()).keys.find((k) => k.keyId === 'console-key-1')!.status, 'revoked');
    const bad = await c.post(`/console/merchants/${id}/keys`, { publicKey: 'not a key', use: 'sig' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /MERCHANT_KEY_INVALID/);

    await c.get(`/console/merchants/${id}`);
    assert.equal((await c.post(`/console/merchants/${id}/networks`, { cidr: '198.51.100.0/24' })).status, 303);
    assert.ok((await show()).networks.includes('198.51.100.0/24'));
    assert.equal((await c.post(`/console/merchants/${id}/networks/remove`, { cidr: '198.51.100.0/24' })).status, 303);
    assert.ok(!(await show()).networks.includes('198.51.100.0/24'));

    const fingerprint = `sha-256 ${Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
    assert.equal((await c.post(`/console/merchants/${id}/channel`, { url: 'https://shop.example/sideband/', lineNumber: '+15550199000', fingerprint })).status, 303);
    assert.deepEqual((await show()).channel, { url: 'https://shop.example/sideband/', lineNumber: '+15550199000', fingerprint });
    assert.equal((await c.post(`/console/merchants/${id}/webhook`, { url: 'https://shop.example/hooks' })).status, 303);
    assert.equal((await show()).webhookUrl, 'https://shop.example/hooks');
    assert.match((await c.get(`/console/merchants/${id}`)).body, /value="https:\/\/shop\.example\/hooks"/);

    const forged = await c.post(`/console/merchants/${id}/webhook`, { url: 'https://evil.example/' }, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(forged.status, 403);
    assert.equal((await show()).webhookUrl, 'https://shop.example/hooks');
    const audit = (await m.t.operator(`/v1/audit?subject=${id}`)).body as { data: Array<{ action: string; actor: string }> };
    assert.deepEqual(audit.data.slice(0, 6).map((e) => [e.action, e.actor]), [
      ['merchant.set-webhook', 'operator:test'], ['merchant.set-channel', 'operator:test'], ['merchant.remove-network', 'operator:test'],
      ['merchant.add-network', 'operator:test'], ['merchant.revoke-key', 'operator:test'], ['merchant.add-key', 'operator:test'],
    ]);
  });

  it('signs out', async () => {
    await c.get('/console/resolve');
    assert.equal((await c.post('/console/logout', {})).status, 303);
    assert.equal((await c.get('/console/resolve')).status, 303);
  });
});
