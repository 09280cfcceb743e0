import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load-config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { chromiumMissing, launchChromium, pressByKeyboard, screenshotDir, seriousAccessibilityViolations } from '../support/browser.ts';
import { testScryptCost } from '../support/contexts.ts';
import { haveRadclient, radclient } from '../support/radclient.ts';

const skip = chromiumMissing || (haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)');

/**
 * The development start as a newcomer meets it, in Chromium: the demo subscriber logs in
 * through RADIUS, buys in the demo store, approves in the portal, and the store shows the
 * purchase paid. The browser runs on this machine, so it reaches the store from loopback
 * and gives the store its framed address explicitly (README, "Demo store"); the access
 * network's report of the visit to the shop is pushed through the operator API.
 */
describe('a purchase clicked through in Chromium: demo store, subscriber portal, operator console', { skip }, () => {
  let dir: string;
  let gateway: Gateway;
  let browser: Browser;
  let attacker: Server;
  let address: string;
  let shots: string;
  const csp: string[] = [];
  let shotCount = 0;

  const url = (listener: string, path: string): string => `http://${gateway.listen[listener]}${path}`;

  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${String(++shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
    const violations = await seriousAccessibilityViolations(page);
    assert.deepEqual(violations, [], `${name}: serious or critical accessibility violations`);
  }

  async function newPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy/i.test(m.text())) csp.push(m.text());
    });
    return page;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-browser-'));
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, demo: true, listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, portalHttp: 0, demoStoreHttp: 0 }, channel: { exchange: { port: 0 } } } });
    gateway = new Gateway({ config, logger: createTestLogger('purchase-in-the-browser'), scryptCost: testScryptCost });
    await gateway.start();
    assert.ok(gateway.demo && gateway.listen.demoStoreHttp && gateway.listen.portalHttp, 'the development start runs the portal and the demo store');
    browser = await launchChromium();
    shots = screenshotDir('purchase-in-the-browser');
    // A page on another port of the same host: the same site, another origin.
    attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form method="post" action="${url('portalHttp', '/purchases/PLACEHOLDER/approve')}"><input type="hidden" name="_csrf" value="guessed"><button>Win a prize</button></form>`);
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (attacker ? attacker.close(() => r()) : r()));
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs the demo subscriber in through radclient, and the access network reports the visit to the shop', async () => {
    const demo = gateway.demo!;
    const run = await radclient(gateway.listen.radiusAuth!, 'auth', demo.nas.secret, [`User-Name = demo, User-Password = "${demo.subscriber.password}", Message-Authenticator = 0x00, NAS-Port = 7`]);
    assert.equal(run.replies[0]?.code, 'Access-Accept', run.output);
    address = run.replies[0]!.attributes['Framed-IP-Address']!;
    const pushed = await fetch(url('operatorHttp', '/v1/destinations'), {
      method: 'POST', headers: { authorization: `Bearer ${demo.operator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ observations: [{ source: { address }, destination: '203.0.113.80' }] }),
    });
    assert.equal(pushed.status, 202);
  });

  let portal: Page;
  let store: Page;

  it('signs in to the portal with Login and Password, by keyboard, and shows the session', async () => {
    portal = await newPage(await browser.newContext());
    await portal.goto(url('portalHttp', '/'));
    await check(portal, 'portal-sign-in');
    await portal.getByLabel('Login').fill('demo');
    await portal.getByLabel('Password').fill(gateway.demo!.subscriber.password);
    await pressByKeyboard(portal, 'Sign in');
    await portal.waitForURL(/\/now$/);
    assert.ok((await portal.textContent('main'))!.includes(address), 'Now shows the framed address');
    await check(portal, 'portal-now');
    await portal.goto(url('portalHttp', '/purchases'));
    await portal.getByText('Nothing is waiting for you.').waitFor();
  });

  it('buys in the demo store; the purchase appears live in the portal; approved by keyboard; the store shows it paid', async () => {
    store = await newPage(await browser.newContext());
    await store.goto(url('demoStoreHttp', '/'));
    await store.getByLabel('Your network address').fill(address);
    await store.getByRole('button', { name: 'Use it' }).click();
    await check(store, 'store-catalogue');
    await store.getByRole('button', { name: 'Buy', exact: true }).and(store.locator('[aria-describedby="h-rail-pass"]')).click();
    await store.getByText('Waiting for you to approve').waitFor();
    await check(store, 'store-order-pending');

    // Server-sent events: the portal page opened before the purchase shows it without a reload.
    await portal.getByRole('heading', { name: 'Demo Shop: 89.00 EUR' }).waitFor();
    assert.match((await portal.textContent('#pending'))!, /Weekend rail pass/);
    await check(portal, 'portal-purchases-pending');
    await pressByKeyboard(portal, 'Approve');
    await portal.getByText('Approved: the merchant has been told.').waitFor();

    await store.getByText('Paid. Thank you!').waitFor();
    await check(store, 'store-order-paid');
    await check(portal, 'portal-purchases-history');
  });

  it('refuses a form posted from another origin of the same site, and changes nothing', async () => {
    await store.goto(url('demoStoreHttp', `/?address=${address}`));
    await store.getByRole('button', { name: 'Buy', exact: true }).and(store.locator('[aria-describedby="h-rail-pass"]')).click();
    await store.getByText('Waiting for you to approve').waitFor();
    const orderUrl = store.url();
    await portal.goto(url('portalHttp', '/purchases'));
    const form = portal.locator('#pending form[action$="/approve"]').first();
    const action = (await form.getAttribute('action'))!;
    const evil = await newPage(portal.context());
    await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    await evil.evaluate((target) => {
      const f = (globalThis as unknown as { document: { forms: Array<{ action: string }> } }).document.forms[0]!;
      f.action = target;
    }, url('portalHttp', action));
    const [response] = await Promise.all([evil.waitForNavigation(), evil.getByRole('button', { name: 'Win a prize' }).click()]);
    assert.equal(response?.status(), 403);
    assert.match((await evil.textContent('body'))!, /WEB_FORM_FORGED/);
    await portal.reload();
    await pressByKeyboard(portal, 'Decline');
    await portal.getByText('Declined: the merchant has been told.').waitFor();
    await store.goto(orderUrl);
    await store.getByText(/Declined \(SUBSCRIBER_DECLINED\)/).waitFor();
  });

  it('the portal\'s settings and secure channel pages pass axe and show cards masked only', async () => {
    await portal.goto(url('portalHttp', '/settings'));
    const settings = (await portal.textContent('main'))!;
    assert.match(settings, /424242••••••4242/);
    assert.ok(!settings.includes('4242424242424242'));
    await check(portal, 'portal-settings');
    await portal.getByLabel(/Secure channel for Demo Shop/).selectOption('once');
    await pressByKeyboard(portal, 'Set');
    await portal.getByText('Saved.').waitFor();
    await portal.goto(url('portalHttp', '/channel'));
    await check(portal, 'portal-secure-channel');
  });

  it('every operator console page passes axe', async () => {
    const page = await newPage(await browser.newContext());
    await page.goto(url('operatorHttp', '/console/'));
    await check(page, 'console-sign-in');
    await page.getByLabel('Operator token').fill(gateway.demo!.operator.token);
    await pressByKeyboard(page, 'Sign in');
    await page.waitForURL(/\/console\/resolve$/);
    await page.getByLabel('Address').fill(address);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('demo', { exact: false }).first().waitFor();
    assert.match((await page.textContent('main'))!, /Subscriber\s*demo/);
    await check(page, 'console-resolve');
    for (const path of ['sessions', 'network', 'merchants', `merchants/${gateway.demo!.merchant.id}`, 'authorizations', 'calls', 'audit']) {
      await page.goto(url('operatorHttp', `/console/${path}`));
      await check(page, `console-${path.replace(/\//g, '-')}`);
    }
    await page.goto(url('operatorHttp', '/console/authorizations'));
    await page.locator('main table a').first().click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await check(page, 'console-authorization');
  });

  it('no page broke its own Content-Security-Policy', () => {
    assert.deepEqual(csp, []);
  });
});
