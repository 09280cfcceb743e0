import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromiumMissing, launchChromium } from '../support/browser.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { haveNginx, nginxMissing, startTlsProxy, type ForwardingHeaders, type RunningTlsProxy } from '../support/nginx.ts';
import { PortalClient } from '../support/portal-client.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/** Nginx reaches the gateway from 127.0.0.1; a client that writes the headers itself comes from 127.0.0.2. */
const PROXY = '127.0.0.1/32';
const UNTRUSTED_PEER = '127.0.0.2';

/** A plain HTTP request from UNTRUSTED_PEER (another loopback address than the proxy's). */
function fromUntrustedPeer(host: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; setCookie: string; body: string }> {
  const [hostname, port] = [host.slice(0, host.lastIndexOf(':')), Number(host.slice(host.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: body === undefined ? 'GET' : 'POST', localAddress: UNTRUSTED_PEER, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: ([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n'), body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The portal and console behind a TLS-terminating nginx, as in production: the gateway
 * listens in plain HTTP, nginx is listed in web.trustedProxies and reports the scheme.
 * Through it, the session cookie is Secure and forms posted from the https origin are
 * served; the same headers from a peer not listed change nothing.
 */
describe('the portal and console behind a TLS proxy (nginx)', { skip: haveNginx ? false : nginxMissing }, () => {
  let t: TestGateway;
  const proxies = new Map<ForwardingHeaders, RunningTlsProxy>();
  let consoleProxy: RunningTlsProxy;

  before(async () => {
    t = await startTestGateway('sqlite', 'portal-behind-a-tls-proxy', { web: { trustedProxies: [PROXY] } });
    await t.gateway.context.subscribers.add({ login: 'jude', password: 'jude-password-1' });
    for (const headers of ['x-forwarded', 'forwarded'] as const) {
      proxies.set(headers, await startTlsProxy({ upstream: t.gateway.listen.portalHttp!, headers, name: `portal-proxy-${headers}` }));
    }
    consoleProxy = await startTlsProxy({ upstream: t.gateway.listen.operatorHttp!, headers: 'x-forwarded', name: 'console-proxy' });
  });
  after(async () => {
    for (const p of proxies.values()) await p.stop();
    await consoleProxy?.stop();
    await t?.dispose();
  });

  for (const headers of ['x-forwarded', 'forwarded'] as const) {
    it(`signs in through the proxy (${headers}): the cookie is Secure, forms from the https origin are served, redirects stay relative`, async () => {
      const proxy = proxies.get(headers)!;
      const browser = { origin: proxy.origin, 'sec-fetch-site': 'same-origin' };
      const c = new PortalClient(proxy.origin, httpsFetch(proxy.ca));
      const login = await c.get('/login');
      assert.equal(login.status, 200);
      assert.match(login.headers.get('set-cookie') ?? '', /^sb_portal=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
      const signedIn = await c.post('/login', { login: 'jude', password: 'jude-password-1' }, { headers: browser });
      assert.equal(signedIn.status, 303, signedIn.body.slice(0, 300));
      assert.equal(signedIn.location, '/now', 'a relative redirect: the browser keeps its https origin');
      assert.equal((await c.get('/now')).status, 200);
      assert.equal((await c.post('/settings/auto-approve', { autoApproveLimit: '700' }, { headers: browser })).status, 303);
      const forged = await c.post('/settings/auto-approve', { autoApproveLimit: '900000' }, { headers: { origin: proxy.origin.replace('https:', 'http:') } });
      assert.equal(forged.status, 403, 'a form from the http origin is another origin');
      assert.match(forged.body, /WEB_FORM_FORGED/);
      assert.equal((await t.gateway.context.subscribers.show('jude')).autoApproveLimit, 700);
      const res = await httpsFetch(proxy.ca)(`${proxy.origin}/logout`, { method: 'POST', headers: { cookie: c.cookie, 'content-type': 'application/x-www-form-urlencoded', ...browser }, body: `_csrf=${encodeURIComponent(c.csrf)}` });
      assert.equal(res.status, 303);
      assert.match(res.headers.get('set-cookie') ?? '', /Max-Age=0; Secure/);
    });
  }

  it('the console\'s cookie is Secure through the proxy too', async () => {
    const proxy = consoleProxy;
    const c = new PortalClient(proxy.origin, httpsFetch(proxy.ca));
    assert.match((await c.get('/console/login')).headers.get('set-cookie') ?? '', /Path=\/console; HttpOnly; SameSite=Strict; Secure$/);
    const ok = await c.post('/console/login', { token: t.token }, { headers: { origin: proxy.origin, 'sec-fetch-site': 'same-origin' } });
    assert.equal(ok.status, 303);
    assert.equal((await c.get('/console/merchants')).status, 200);
  });

  it('believes no forwarding header from a peer that is not a listed proxy', async () => {
    const host = t.gateway.listen.portalHttp!;
    for (const claim of [{ 'x-forwarded-proto': 'https' }, { forwarded: 'proto=https' }] as Array<Record<string, string>>) {
      const page = await fromUntrustedPeer(host, '/login', claim);
      assert.equal(page.status, 200);
      assert.match(page.setCookie, /SameSite=Strict$/, 'no Secure: the connection was plain HTTP');
      const cookie = page.setCookie.split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      // A browser at https://… posting here: its Origin is not this plain-HTTP origin.
      const post = await fromUntrustedPeer(host, '/login', { ...claim, cookie, origin: `https://${host}` }, new URLSearchParams({ _csrf: csrf, login: 'jude', password: 'jude-password-1' }).toString());
      assert.equal(post.status, 403);
      assert.match(post.body, /WEB_FORM_FORGED/);
    }
  });

  it('Chromium signs in through the proxy and holds a Secure cookie', { skip: chromiumMissing }, async () => {
    const proxy = proxies.get('x-forwarded')!;
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${proxy.origin}/login`);
      await page.getByLabel('Login').fill('jude');
      await page.getByLabel('Password').fill('jude-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${proxy.origin}/now`);
      const cookie = (await context.cookies()).find((k) => k.name === 'sb_portal');
      assert.equal(cookie?.secure, true);
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');
      await page.goto(`${proxy.origin}/settings`);
      await page.getByLabel(/approved without asking you/).fill('800');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(`${proxy.origin}/settings?saved=1`);
      assert.equal((await t.gateway.context.subscribers.show('jude')).autoApproveLimit, 800);
    } finally {
      await browser.close();
    }
  });
});
