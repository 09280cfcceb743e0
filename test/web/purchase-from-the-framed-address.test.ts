import assert from 'node:assert/strict';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ChildProcess } from 'node:child_process';
import { chromiumMissing, launchChromium, pressByKeyboard, screenshotDir, seriousAccessibilityViolations } from '../support/browser.ts';
import { NetworkNamespaces, networkNamespacesUnavailable } from '../support/network-namespaces.ts';
import { haveRadclient } from '../support/radclient.ts';
import { ephemeralPorts } from '../support/spawn-gateway.ts';

const root = new URL('../..', import.meta.url).pathname;
const skip = chromiumMissing || (haveRadclient ? false : 'radclient missing (apt-get install freeradius-utils)') || networkNamespacesUnavailable() || false;

interface Demo {
  subscriber: { login: string; password: string };
  nas: { secret: string };
  operator: { token: string };
  listen: Record<string, string>;
}

/**
 * The subscriber's browser as it really is: on a machine whose address is the one RADIUS
 * framed for its session. The development start runs in one namespace (the provider's:
 * gateway, portal and demo store, the store also at 203.0.113.80, a shop's address); the
 * browser runs in another, whose only interface carries the framed address. The store
 * learns the customer's address and source port from the connection, as any merchant
 * does, and never asks for it.
 */
describe('a purchase from the framed address, the browser in a network namespace', { skip }, () => {
  const net = new NetworkNamespaces();
  let dir: string;
  let gateway: ChildProcess;
  let demo: Demo;
  let browser: Browser;
  let framed: string;
  let shots: string;
  const port = (listener: string): string => demo.listen[listener]!.split(':').pop()!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-framed-'));
    net.add('sb-isp');
    net.add('sb-sub');
    // Every listener on every address of the provider's namespace, each on a free port.
    gateway = net.spawn('sb-isp', [process.execPath, join(root, 'bin/sideband.js'), '--data-dir', join(dir, 'data'), 'start'], { cwd: root, env: { ...process.env, ...ephemeralPorts, SIDEBAND_LISTEN_HOST: '0.0.0.0' } });
    const logDir = process.env.SIDEBAND_TEST_LOG_DIR;
    const log = logDir ? (mkdirSync(logDir, { recursive: true }), createWriteStream(join(logDir, `gateway-framed-${gateway.pid}.log`))) : null;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${out}`)), 60_000);
      const take = (c: Buffer) => {
        out += c.toString();
        log?.write(c);
        if (out.includes('Stop with Ctrl-C.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      gateway.stdout!.on('data', take);
      gateway.stderr!.on('data', take);
      gateway.once('exit', (code) => reject(new Error(`the gateway exited with ${code}:\n${out}`)));
    });
    demo = JSON.parse(readFileSync(join(dir, 'data', 'demo.json'), 'utf8')) as Demo;
    shots = screenshotDir('purchase-from-the-framed-address');
  });
  after(async () => {
    await browser?.close();
    await net.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the NAS (radclient, in the provider\'s namespace) logs the demo subscriber in; the subscriber\'s namespace takes the framed address', async () => {
    const out = await net.run('sb-isp', ['sh', '-c', `printf '%s\\n' 'User-Name = demo, User-Password = "${demo.subscriber.password}", Message-Authenticator = 0x00, NAS-Port = 9' | radclient -x -r 1 -t 3 127.0.0.1:${port('radiusAuth')} auth '${demo.nas.secret}'`]);
    assert.match(out, /Received Access-Accept/);
    framed = /Framed-IP-Address = (\S+)/.exec(out)![1]!;
    net.link({ ns: 'sb-sub', name: 'sb-sub0', address: `${framed}/24` }, { ns: 'sb-isp', name: 'sb-isp0', address: '192.0.2.254/24' });
    net.exec('sb-isp', ['ip', 'address', 'add', '203.0.113.80/32', 'dev', 'lo']);
    net.route('sb-sub', '203.0.113.0/24', '192.0.2.254');
    // The access network reports the visit to the shop's address (as a BNG without flow export would).
    const pushed = await net.run('sb-isp', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `authorization: Bearer ${demo.operator.token}`, '-H', 'content-type: application/json',
      '-d', JSON.stringify({ observations: [{ source: { address: framed }, destination: '203.0.113.80' }] }), `http://127.0.0.1:${port('operatorHttp')}/v1/destinations`]);
    assert.equal(pushed, '202');
  });

  it('buys in the store from the framed address, approves in the portal, and the store shows it paid; again with the secure switch on, the goods over the channel', async () => {
    const wrapper = join(dir, 'chromium-in-sb-sub');
    writeFileSync(wrapper, '#!/bin/sh\nexec ip netns exec sb-sub /usr/bin/chromium "$@"\n');
    chmodSync(wrapper, 0o755);
    browser = await launchChromium(wrapper);
    const shot = async (page: Page, name: string) => {
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
      assert.deepEqual(await seriousAccessibilityViolations(page), [], name);
    };

    const store = await (await browser.newContext()).newPage();
    await store.goto(`http://203.0.113.80:${port('demoStoreHttp')}/`);
    assert.match((await store.textContent('main'))!, new RegExp(`You are buying from ${framed.replace(/\./g, '\\.')}: the address your connection comes from`));
    assert.equal(await store.getByLabel('Your network address').count(), 0, 'the store does not ask');
    await shot(store, '01-store-catalogue');
    await store.locator('[aria-describedby="h-rail-pass"]').click();
    await store.getByText('Waiting for you to approve').waitFor();
    assert.match((await store.textContent('main'))!, new RegExp(`${framed.replace(/\./g, '\\.')} port \\d+`), 'named by address and source port');
    await shot(store, '02-store-order-pending');

    const portal = await (await browser.newContext()).newPage();
    await portal.goto(`http://192.0.2.254:${port('portalHttp')}/login`);
    await portal.getByLabel('Login').fill('demo');
    await portal.getByLabel('Password').fill(demo.subscriber.password);
    await pressByKeyboard(portal, 'Sign in');
    await portal.waitForURL(/\/now$/);
    await portal.goto(`http://192.0.2.254:${port('portalHttp')}/purchases`);
    await portal.getByRole('heading', { name: 'Demo Shop: 89.00 EUR' }).waitFor();
    await shot(portal, '03-portal-pending');
    await pressByKeyboard(portal, 'Approve');
    await portal.getByText('Approved: the merchant has been told.').waitFor();
    await store.getByText('Paid. Thank you!').waitFor();
    await shot(store, '04-store-order-paid');

    // The same with the secure switch on: the goods come back over the channel.
    await portal.goto(`http://192.0.2.254:${port('portalHttp')}/settings`);
    await portal.getByLabel(/Secure channel for Demo Shop/).selectOption('on');
    await pressByKeyboard(portal, 'Set');
    await portal.getByText('Saved.').waitFor();
    await store.goto(`http://203.0.113.80:${port('demoStoreHttp')}/`);
    await store.locator('[aria-describedby="h-rail-pass"]').click();
    await store.getByText('Waiting for you to approve').waitFor();
    await portal.goto(`http://192.0.2.254:${port('portalHttp')}/purchases`);
    await portal.getByRole('heading', { name: 'Demo Shop: 89.00 EUR' }).waitFor();
    await pressByKeyboard(portal, 'Approve');
    await portal.getByText('Approved: the merchant has been told.').waitFor();
    await store.getByText('Delivered over the secure channel').waitFor();
    await shot(store, '05-store-order-delivered-over-the-channel');
    await portal.goto(`http://192.0.2.254:${port('portalHttp')}/channel`);
    assert.match((await portal.textContent('main'))!, /Weekend rail pass: ticket code [A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/);
    await shot(portal, '06-portal-secure-channel-goods');
  });
});
