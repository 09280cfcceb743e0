import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load-config.ts';
import { DEMO_TEST_CARD } from '../../src/gateway/demo-data.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { chromiumMissing, launchChromium, pressByKeyboard, screenshotDir, seriousAccessibilityViolations } from '../support/browser.ts';
import { testScryptCost } from '../support/contexts.ts';
import { haveRadclient, radclient } from '../support/radclient.ts';

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
  let dir: string;
  let gateway: Gateway;
  let browser: Browser;
  let address: string;
  let shots: string;
  let shotCount = 0;
  const csp: string[] = [];
  /** Every body the demo store sent to the browser. */
  const storeBodies: string[] = [];

  const url = (listener: string, path: string): string => `http://${gateway.listen[listener]}${path}`;

  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${String(++shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `${name}: serious or critical accessibility violations`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-channel-browser-'));
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, demo: true, listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, portalHttp: 0, demoStoreHttp: 0 }, channel: { exchange: { port: 0 } } } });
    gateway = new Gateway({ config, logger: createTestLogger('goods-over-the-secure-channel'), scryptCost: testScryptCost });
    await gateway.start();
    browser = await launchChromium();
    shots = screenshotDir('goods-over-the-secure-channel');
  });
  after(async () => {
    await browser?.close();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the development start registers the demo store\'s channel: its line at the built-in exchange, its endpoint and certificate', async () => {
    const merchant = await gateway.context.merchants.show(gateway.demo!.merchant.id);
    assert.equal(merchant.channel?.lineNumber, gateway.demo!.merchant.channel!.lineNumber);
    assert.match(merchant.channel?.fingerprint ?? '', /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
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

  it('switches the secure channel on for the demo store in the portal, by keyboard', async () => {
    const context = await browser.newContext();
    portal = await context.newPage();
    portal.on('console', (m) => void (/Content[- ]Security[- ]Policy/i.test(m.text()) && csp.push(m.text())));
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
    const context = await browser.newContext();
    store = await context.newPage();
    store.on('console', (m) => void (/Content[- ]Security[- ]Policy/i.test(m.text()) && csp.push(m.text())));
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
    assert.deepEqual(csp, []);
  });
});
