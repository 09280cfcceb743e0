import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEMO_TEST_CARD } from '../../src/gateway/demo-data.ts';
import type { Gateway } from '../../src/gateway/gateway.ts';
import { chromiumMissing, pressByKeyboard, startDemoInChromium, type DemoInChromium } from '../support/browser.ts';
import { haveRadclient } from '../support/radclient.ts';

const skip = chromiumMissing || (haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)');

const TICKET = /Weekend rail pass: ticket code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})/;

/**
 * The same purchase as purchase-in-the-browser, with the subscriber's secure switch on for
 * the demo store: after approval the provider calls the store over the built-in exchange
 * with the card, and the store sends its electronic goods (a ticket code) back over the
 * same call. The store's pages say the goods went over the channel and never carry them;
 * the portal's Secure channel page shows them, and that the call was active first.
 */
describe('electronic goods over the secure channel, clicked through in Chromium', { skip }, () => {
  let demo: DemoInChromium;
  let gateway: Gateway;
  let address: string;
  /** Every body the demo store sent to the browser. */
  const storeBodies: string[] = [];
  const url = (listener: string, path: string): string => demo.url(listener, path);
  const check = (page: Page, name: string): Promise<void> => demo.check(page, name);

  before(async () => {
    demo = await startDemoInChromium('goods-over-the-secure-channel');
    gateway = demo.gateway;
  });
  after(async () => demo?.dispose());

  it('the development start registers the demo store\'s channel: its line at the built-in exchange, its endpoint and certificate', async () => {
    const merchant = await gateway.context.merchants.show(gateway.demo!.merchant.id);
    assert.equal(merchant.channel?.lineNumber, gateway.demo!.merchant.channel!.lineNumber);
    assert.match(merchant.channel?.fingerprint ?? '', /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    address = await demo.logInDemoSubscriber();
  });

  let portal: Page;
  let store: Page;

  it('switches the secure channel on for the demo store in the portal, by keyboard', async () => {
    portal = await demo.newPage();
    await portal.goto(url('portalHttp', '/'));
    await portal.getByLabel('Login').fill('demo');
    await portal.getByLabel('Password').fill(gateway.demo!.subscriber.password);
    await pressByKeyboard(portal, 'Sign in');
    await portal.waitForURL(/\/now$/);
    await portal.goto(url('portalHttp', '/settings'));
    await portal.getByLabel(/Secure channel for Demo Shop/).selectOption('on');
    await pressByKeyboard(portal, 'Set');
    await portal.getByText('Saved.').waitFor();
    assert.match((await portal.textContent('main table'))!, /Demo Shop\s*.*on/);
    await check(portal, 'portal-settings-secure-on');
    await portal.goto(url('portalHttp', '/channel'));
    await portal.getByText('No secure exchange yet').waitFor();
  });

  it('buys in the store, approves in the portal, and the store shows the goods delivered over the channel, not on its page', async () => {
    store = await demo.newPage();
    store.on('response', (r) => {
      if (r.url().startsWith(url('demoStoreHttp', '/'))) void r.text().then((t) => storeBodies.push(t), () => undefined);
    });
    await store.goto(url('demoStoreHttp', `/?address=${address}`));
    await store.getByRole('button', { name: 'Buy', exact: true }).and(store.locator('[aria-describedby="h-rail-pass"]')).click();
    await store.getByText('Waiting for you to approve').waitFor();

    await portal.goto(url('portalHttp', '/purchases'));
    await portal.getByRole('heading', { name: 'Demo Shop: 89.00 EUR' }).waitFor();
    await pressByKeyboard(portal, 'Approve');
    await portal.getByText('Approved: the merchant has been told.').waitFor();

    await store.getByText('Delivered over the secure channel').waitFor();
    const page = (await store.textContent('main'))!;
    assert.match(page, /Paid\. Thank you!/);
    assert.match(page, /Your card details reached the shop the same way/);
    assert.doesNotMatch(page, TICKET);
    await check(store, 'store-order-delivered-over-the-channel');
  });

  it('the portal\'s Secure channel page shows the exchange, active before anything was sent, and the ticket code it carried', async () => {
    await portal.goto(url('portalHttp', '/channel'));
    const main = (await portal.textContent('main'))!;
    assert.match(main, /Completed/);
    assert.match(main, /active .*, before anything was sent/);
    assert.match(main, /items received: 1/);
    const code = TICKET.exec(main)?.[1];
    assert.ok(code, 'the portal shows the ticket code');
    await check(portal, 'portal-secure-channel-goods');
    // The goods reached the subscriber through the provider, never through the store's pages.
    assert.ok(storeBodies.length > 0);
    for (const body of storeBodies) {
      assert.ok(!body.includes(code), 'a page of the store carried the ticket code');
      assert.ok(!body.includes(DEMO_TEST_CARD), 'a page of the store carried the card number');
    }
    const calls = await fetch(url('operatorHttp', '/v1/channel/calls'), { headers: { authorization: `Bearer ${gateway.demo!.operator.token}` } });
    const { data } = (await calls.json()) as { data: Array<{ caller: string; dialed: string }> };
    assert.ok(data.some((c) => gateway.demo!.merchant.channel!.numbers.includes(c.dialed)), 'the exchange recorded the call to the store\'s number');
  });

  it('no page broke its own Content-Security-Policy', () => {
    assert.deepEqual(demo.csp, []);
  });
});
