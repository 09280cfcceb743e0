import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

describe('the subscriber portal refuses what it must', () => {
  let m: MerchantSetup;
  let origin: string;
  let mine: { address: string; subscriberId: string };
  let theirs: { address: string; subscriberId: string };
  const card = testCardNumber(40);

  before(async () => {
    m = await merchantSetup('sqlite', 'portal-refusals', { config: { radius: { maxFailures: 3, failureWindowSeconds: 60 } } });
    origin = `http://${m.t.gateway.listen.portalHttp}`;
    mine = await shopper(m, 'ada', { autoApproveLimit: null, card: { number: card, expiry: futureExpiry() } });
    theirs = await shopper(m, 'bob', { autoApproveLimit: null, card: { number: testCardNumber(41), expiry: futureExpiry() } });
  });
  after(async () => m?.dispose());

  it('every page carries a strict Content-Security-Policy and no script of its own inline', async () => {
    const c = new PortalClient(origin);
    const page = await c.get('/login');
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(page.body, /<script>|<script [^>]*>[^<]/);
    assert.match(page.body, /<label for="login">Login<\/label>/);
    assert.match(page.body, /<label for="password">Password<\/label>/);
  });

  it('sets the session cookie HttpOnly and SameSite=Strict, with a new id at sign-in', async () => {
    const c = new PortalClient(origin);
    const first = await fetch(`${origin}/login`);
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    await c.get('/login');
    const before = c.cookie;
    const res = await c.post('/login', { login: 'ada', password: 'ada-password' });
    assert.equal(res.status, 303);
    assert.equal(res.location, '/now');
    assert.notEqual(c.cookie, before, 'a session id planted before sign-in is not the one after it');
  });

  it('stores nothing for a log-in form, and takes its CSRF token only with the cookie it was made for', async () => {
    const db = m.t.gateway.context.store.db;
    const count = async () => Number((await db.selectFrom('web_sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    for (let i = 0; i < 200; i++) assert.equal((await new PortalClient(origin).get('/login')).status, 200);
    assert.equal(await count(), before, 'two hundred log-in forms wrote no row');
    const mallory = new PortalClient(origin);
    await mallory.get('/login');
    const victim = new PortalClient(origin);
    await victim.get('/login');
    const swapped = await victim.post('/login', { login: 'ada', password: 'ada-password' }, { csrf: mallory.csrf });
    assert.equal(swapped.status, 403, 'another cookie\'s token');
    assert.match(swapped.body, /WEB_FORM_FORGED/);
    const noCookie = new PortalClient(origin);
    noCookie.csrf = victim.csrf;
    assert.equal((await noCookie.post('/login', { login: 'ada', password: 'ada-password' })).status, 403, 'a token without its cookie');
    assert.equal(await victim.signIn('ada', 'ada-password'), 303);
    assert.equal(await count(), before + 1, 'the sign-in wrote one');
  });

  it('throttles wrong passwords: after radius.maxFailures, even the right one is refused for the window', async () => {
    const c = new PortalClient(origin);
    for (let i = 0; i < 3; i++) assert.equal(await c.signIn('bob', 'not-his-password'), 401);
    const throttled = await c.post('/login', { login: 'bob', password: 'bob-password' });
    assert.equal(throttled.status, 429);
    assert.match(throttled.body, /PORTAL_LOGIN_THROTTLED/);
    // Another login from the same address is not locked out by bob's failures.
    assert.equal(await new PortalClient(origin).signIn('ada', 'ada-password'), 303);
  });

  it('says a purchase was declined when approving it could not go ahead (merchant billing withdrawn meanwhile)', async () => {
    const ctx = m.t.gateway.context;
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await ctx.merchants.addKey(m.merchantId, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'enc', keyId: 'portal-refusals-enc' });
    await ctx.subscribers.setLimit('ada', { releaseToMerchant: true });
    const a = await m.client.authorizations.create({ customer: { address: mine.address }, amount: 600, currency: 'EUR', settlement: 'merchant_bill' });
    assert.equal(a.status, 'pending');
    await ctx.subscribers.setLimit('ada', { releaseToMerchant: false });
    const c = new PortalClient(origin);
    assert.equal(await c.signIn('ada', 'ada-password'), 303);
    await c.get('/purchases');
    const answer = await c.post(`/purchases/${a.id}/approve`, {});
    assert.equal(answer.location, '/purchases?done=declined');
    assert.match((await c.get(answer.location)).body, /Declined: the merchant has been told\./);
    assert.equal((await m.client.authorizations.retrieve(a.id)).status, 'declined');
  });

  it('refuses a form posted from another site or without the CSRF token, and changes nothing', async () => {
    const a = await m.client.authorizations.create({ customer: { address: mine.address }, amount: 700, currency: 'EUR', description: 'forged?' });
    assert.equal(a.status, 'pending');
    const c = new PortalClient(origin);
    assert.equal(await c.signIn('ada', 'ada-password'), 303);
    await c.get('/purchases');
    const noToken = await c.post(`/purchases/${a.id}/approve`, {}, { csrf: null });
    assert.equal(noToken.status, 403);
    assert.match(noToken.body, /WEB_FORM_FORGED/);
    const crossSite = await c.post(`/purchases/${a.id}/approve`, {}, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    const sameSiteOtherPort = await c.post(`/purchases/${a.id}/approve`, {}, { headers: { 'sec-fetch-site': 'same-site' } });
    assert.equal(sameSiteOtherPort.status, 403);
    const anonymous = await new PortalClient(origin).post(`/purchases/${a.id}/approve`, {}, { csrf: 'guess' });
    assert.equal(anonymous.status, 401);
    assert.equal((await m.client.authorizations.retrieve(a.id)).status, 'pending');
    const ok = await c.post(`/purchases/${a.id}/decline`, {});
    assert.equal(ok.status, 303);
    assert.equal((await m.client.authorizations.retrieve(a.id)).status, 'declined');
  });

  it('renders a script in a merchant\'s description (and name) as text', async () => {
    const ctx = m.t.gateway.context;
    const evil = await ctx.merchants.add({ name: '<img src=x onerror=alert(1)>Evil', settlement: 'card' });
    await ctx.merchants.certify(evil.id);
    const a = await m.client.authorizations.create({ customer: { address: mine.address }, amount: 900, currency: 'EUR', description: '<script>alert("x")</script>' });
    const c = new PortalClient(origin);
    assert.equal(await c.signIn('ada', 'ada-password'), 303);
    const purchases = await c.get('/purchases');
    assert.ok(purchases.body.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.ok(!purchases.body.includes('<script>alert'));
    const settings = await c.get('/settings');
    assert.ok(settings.body.includes('&lt;img src=x onerror=alert(1)&gt;Evil'));
    assert.ok(!settings.body.includes('<img src=x'));
    await m.client.authorizations.void(a.id).catch(() => undefined);
  });

  it('a portal session sees only its own subscriber\'s data and cannot act on another\'s purchase', async () => {
    const bobs = await m.client.authorizations.create({ customer: { address: theirs.address }, amount: 1_100, currency: 'EUR', description: 'bob only' });
    assert.equal(bobs.status, 'pending');
    const c = new PortalClient(origin);
    assert.equal(await c.signIn('ada', 'ada-password'), 303);
    const page = await c.get('/purchases');
    assert.ok(!page.body.includes(bobs.id) && !page.body.includes('bob only'));
    const now = await c.get('/now');
    assert.ok(now.body.includes(mine.address) && !now.body.includes(theirs.address));
    const approve = await c.post(`/purchases/${bobs.id}/approve`, {});
    assert.equal(approve.status, 404);
    assert.equal((await m.client.authorizations.retrieve(bobs.id)).status, 'pending');
  });

  it('never puts a card number on a page: cards appear masked', async () => {
    const c = new PortalClient(origin);
    assert.equal(await c.signIn('ada', 'ada-password'), 303);
    const settings = await c.get('/settings');
    assert.ok(!settings.body.includes(card));
    assert.ok(settings.body.includes(`${card.slice(0, 6)}`) && settings.body.includes(card.slice(-4)));
  });
});
