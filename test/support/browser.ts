import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load-config.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { testScryptCost } from './contexts.ts';
import { radclient } from './radclient.ts';

/** Debian's Chromium, which scripts/run-tests.js installs as root; Playwright downloads no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (as root, npm test installs it: apt-get install chromium)`;

/**
 * Chromium driven over its DevTools pipe. `executablePath` may be a wrapper that starts
 * Chromium elsewhere (e.g. `ip netns exec NS /usr/bin/chromium "$@"`): the pipe is
 * inherited, so the browser can live in another network namespace than the test.
 */
export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  // As root Chromium refuses its sandbox; the pages it opens are the suite's own.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** Where a test's screenshots go: the suite's log directory (SIDEBAND_TEST_LOG_DIR), kept as artifacts. */
export function screenshotDir(name: string): string {
  const dir = join(process.env.SIDEBAND_TEST_LOG_DIR ?? join(process.cwd(), 'data', 'test-logs'), 'screenshots', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Runs axe-core in the page and returns its serious and critical violations. axe is
 * evaluated through the DevTools protocol, not as a script tag, so the pages' strict
 * Content-Security-Policy stays in force while it runs.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Presses Tab until the focused element's text or value is `label`, then Enter: proof that a keyboard reaches it. */
export async function pressByKeyboard(page: Page, label: string, maxTabs = 60): Promise<void> {
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = (globalThis as unknown as { document: { activeElement: { innerText?: string; value?: string } | null } }).document.activeElement;
      return el ? (el.innerText || el.value || '').trim() : '';
    });
    if (focused === label) {
      await page.keyboard.press('Enter');
      return;
    }
  }
  throw new Error(`no element "${label}" reached by ${maxTabs} presses of Tab`);
}

/** The development start in this process and Chromium beside it, as the same-machine browser tests use them. */
export interface DemoInChromium {
  readonly gateway: Gateway;
  readonly browser: Browser;
  /** `http://HOST:PORT/path` of one of the gateway's listeners (`portalHttp`, `demoStoreHttp`, `operatorHttp`). */
  url(listener: string, path: string): string;
  /** A page in a new browser context (or the one given) whose Content-Security-Policy reports are collected in `csp`. */
  newPage(context?: BrowserContext): Promise<Page>;
  /** Every Content-Security-Policy violation a page of `newPage` reported. */
  readonly csp: string[];
  /** A numbered full-page screenshot in the test's screenshot directory, then axe: no serious or critical violations. */
  check(page: Page, name: string): Promise<void>;
  /** The demo subscriber logs in through radclient and the access network reports its visit to the shop; returns the framed address. */
  logInDemoSubscriber(): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * Starts a gateway with demo data (a development start, every listener on a free loopback
 * port, in a fresh data directory) and Chromium. dispose() closes both and removes the directory.
 */
export async function startDemoInChromium(name: string): Promise<DemoInChromium> {
  const dir = mkdtempSync(join(tmpdir(), `sideband-${name}-`));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, demo: true, listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, operatorHttp: 0, merchantHttp: 0, netflow: 0, ipfix: 0, portalHttp: 0, demoStoreHttp: 0 }, channel: { exchange: { port: 0 } } } });
  const gateway = new Gateway({ config, logger: createTestLogger(name), scryptCost: testScryptCost });
  let browser: Browser | null = null;
  const dispose = async () => {
    await browser?.close();
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await gateway.start();
    browser = await launchChromium();
  } catch (e) {
    await dispose();
    throw e;
  }
  const shots = screenshotDir(name);
  const csp: string[] = [];
  let shotCount = 0;
  const url = (listener: string, path: string): string => `http://${gateway.listen[listener]}${path}`;
  const opened = browser;
  return {
    gateway, browser: opened, csp, url, dispose,
    async newPage(context) {
      const page = await (context ?? (await opened.newContext())).newPage();
      page.on('console', (m) => {
        if (/Content[- ]Security[- ]Policy/i.test(m.text())) csp.push(m.text());
      });
      return page;
    },
    async check(page, shot) {
      await page.screenshot({ path: join(shots, `${String(++shotCount).padStart(2, '0')}-${shot}.png`), fullPage: true });
      assert.deepEqual(await seriousAccessibilityViolations(page), [], `${shot}: serious or critical accessibility violations`);
    },
    async logInDemoSubscriber() {
      const demo = gateway.demo!;
      const run = await radclient(gateway.listen.radiusAuth!, 'auth', demo.nas.secret, [`User-Name = demo, User-Password = "${demo.subscriber.password}", Message-Authenticator = 0x00, NAS-Port = 7`]);
      assert.equal(run.replies[0]?.code, 'Access-Accept', run.output);
      const address = run.replies[0]!.attributes['Framed-IP-Address']!;
      const pushed = await fetch(url('operatorHttp', '/v1/destinations'), {
        method: 'POST', headers: { authorization: `Bearer ${demo.operator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ observations: [{ source: { address }, destination: '203.0.113.80' }] }),
      });
      assert.equal(pushed.status, 202);
      return address;
    },
  };
}
