import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../src/gateway/gateway.ts';
import { chromiumMissing, pressByKeyboard, startDemoInChromium, type DemoInChromium } from '../support/browser.ts';
import { haveRadclient } from '../support/radclient.ts';

const skip = chromiumMissing || (haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)');

/**
 * The development start as a newcomer meets it, in Chromium: the demo subscriber logs in
 * through RADIUS, buys in the demo store, approves in the portal, and the store shows the
 * purchase paid. The browser runs on this machine, so it reaches the store from loopback
 * and gives the store its framed address explicitly (README, "Demo store"); the access
 * network's report of the visit to the shop is pushed through the operator API.
 */
describe('a purchase clicked through in Chromium: demo store, subscriber portal, operator console', { skip }, () => {
  let demo: DemoInChromium;
  let gateway: Gateway;
  let attacker: Server;
  let address: string;
  const url = (listener: string, path: string): string => demo.url(listener, path);
  const check = (page: Page, name: string): Promise<void> => demo.check(page, name);
  const newPage = (context: BrowserContext): Promise<Page> => demo.newPage(context);

  before(async () => {
    demo = await startDemoInChromium('purchase-in-the-browser');
    gateway = demo.gateway;
    assert.ok(gateway.demo && gateway.listen.demoStoreHttp && gateway.listen.portalHttp, 'the development start runs the portal and the demo store');
    // A page on another port of the same host: the same site, another origin.
    attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form method="post" action="${url('portalHttp', '/purchases/PLACEHOLDER/approve')}"><input type="hidden" name="_csrf" value="guessed"><button>Win a prize</button></form>`);
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await new Promise<void>((r) => (attacker ? attacker.close(() => r()) : r()));
    await demo?.dispose();
  });

  it('logs the demo subscriber in through radclient, and the access network reports the visit to the shop', async () => {
    address = await demo.logInDemoSubscriber();
  });

  let portal: Page;
  let store: Page;

  it('signs in to the portal with Login and Password, by keyboard, and shows the session', async () => {
    portal = await demo.newPage();
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
    store = await demo.newPage();
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
    // The order page reloads itself when the order changes; navigating to it here would race that reload.
    assert.equal(store.url(), orderUrl);
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
    const page = await demo.newPage();
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
    assert.deepEqual(demo.csp, []);
  });
});
