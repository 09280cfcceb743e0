import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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
