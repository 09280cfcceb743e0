import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

/**
 * The SDK as a merchant gets it: `npm pack`ed, installed from the tarball (offline: it has
 * no runtime dependency, `./channel` included) into fresh projects in a temporary
 * directory outside the repository, type-checked as TypeScript under nodenext, bundler
 * and node10, and run as compiled TypeScript (ESM) and plain JavaScript (require) against
 * a gateway: a purchase, then a secure-channel exchange. The TypeScript projects' compiler
 * and @types/node are linked from the repository's node_modules (they are the merchant's
 * tools, not the SDK's dependencies, and the install must work offline).
 */
const root = new URL('../..', import.meta.url).pathname;
const sdkDir = join(root, 'packages', 'merchant-sdk');
const consumers = join(root, 'test', 'sdk', 'consumers');
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });

const LINES = {
  ts: { username: 'shop-ts', password: 'shop-ts-line-password', lineNumber: '+15550177000', numbers: ['+15550177001'] },
  js: { username: 'shop-js', password: 'shop-js-line-password', lineNumber: '+15550188000', numbers: ['+15550188001'] },
};

const du = (path: string): number => {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, f) => n + du(join(path, f)), 0) : s.size;
};

describe('the packed merchant SDK, installed outside the repository', () => {
  let work: string;
  let tarball: string;
  let m: MerchantSetup;
  let pem: string;
  const pan = testCardNumber(51);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'sideband-sdk-consumers-'));
    assert.ok(!work.startsWith(root), 'the consumers live outside the repository');
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], sdkDir)) as Array<{ filename: string; unpackedSize: number; files: Array<{ path: string }> }>;
    tarball = join(work, packed[0]!.filename);
    m = await merchantSetup('sqlite', 'sdk-consumers', {
      config: { channel: { lineNumber: '+15550100000', numbers: ['+15550100001', '+15550100002'], reservationSeconds: 5, exchange: { lines: Object.values(LINES).map((l) => ({ username: l.username, password: l.password, numbers: [l.lineNumber, ...l.numbers] })) } } },
    });
    pem = m.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  });
  after(async () => {
    await m?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A fresh project with the tarball installed; the TypeScript ones get the compiler linked in. */
  function project(name: string, packageJson: object, typescript: boolean): string {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...packageJson }, null, 2));
    npm(['install', '--offline', '--no-save', tarball], dir);
    if (typescript) {
      mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
      symlinkSync(join(root, 'node_modules', 'typescript'), join(dir, 'node_modules', 'typescript'));
      symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
    }
    return dir;
  }

  /** Runs a consumer: its purchase, then its exchange (registering its endpoint and naming a customer when it asks). */
  async function runConsumer(cwd: string, script: string, line: (typeof LINES)['ts'], label: string): Promise<Array<Record<string, unknown>>> {
    const { address } = await shopper(m, `${label}-buyer`, { card: { number: pan, expiry: futureExpiry() } });
    const env = {
      ...process.env, SIDEBAND_URL: `http://${m.t.gateway.listen.merchantHttp}`, SIDEBAND_KEY_ID: m.keyId, SIDEBAND_PRIVATE_KEY: pem, CUSTOMER_ADDRESS: address,
      CHANNEL_LINE: JSON.stringify({ registrar: `sip:${m.t.gateway.listen.exchangeUdp}`, ...line }),
      // The consumer runs as a merchant would: no TypeScript loader, no source condition.
      NODE_OPTIONS: '',
    };
    const child = spawn(process.execPath, [script], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const log = process.env.SIDEBAND_TEST_LOG_DIR ? join(process.env.SIDEBAND_TEST_LOG_DIR, `sdk-consumer-${label}.log`) : null;
    const said: Array<Record<string, unknown>> = [];
    const exited = new Promise<number | null>((r) => child.on('close', r));
    for await (const text of createInterface({ input: child.stdout })) {
      if (log) appendFileSync(log, `${text}\n`);
      const msg = JSON.parse(text) as Record<string, unknown>;
      said.push(msg);
      if (msg.step === 'channel') {
        await m.t.gateway.context.merchants.setChannel(m.merchantId, { url: msg.url as string, lineNumber: line.lineNumber, fingerprint: msg.fingerprint as string });
        const buyer = await shopper(m, `${label}-channel-buyer`, { card: { number: pan, expiry: futureExpiry() }, releaseToMerchant: true });
        child.stdin.write(`${buyer.address}\n`);
      }
    }
    if (log) appendFileSync(log, stderr);
    assert.equal(await exited, 0, stderr);
    return said;
  }

  function assertPurchaseAndExchange(said: Array<Record<string, unknown>>): void {
    assert.deepEqual(said.find((s) => s.step === 'purchase'), { step: 'purchase', authorized: 'approved', captured: 1250, refunded: 1250, finally: 'refunded', missing: 'AUTHORIZATION_NOT_FOUND' });
    const exchange = said.find((s) => s.step === 'exchange');
    assert.deepEqual(exchange, { step: 'exchange', ok: true, cards: 1, cardDigest: createHash('sha256').update(pan).digest('hex') });
  }

  it('ships ESM, CommonJS and declarations for both, a node10 stub for ./channel, README, LICENSE and CHANGELOG', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort();
    assert.deepEqual(listing, ['CHANGELOG.md', 'LICENSE', 'README.md', 'channel/package.json', 'dist/channel.cjs', 'dist/channel.d.cts', 'dist/channel.d.ts', 'dist/channel.js', 'dist/index.cjs', 'dist/index.d.cts', 'dist/index.d.ts', 'dist/index.js', 'package.json']);
  });

  it('a TypeScript project type-checks under nodenext, bundler and node10, and its compiled code buys and runs an exchange', async () => {
    const dir = project('ts-consumer', { type: 'module' }, true);
    for (const f of ['purchase.ts', 'require.cts', 'require-node10.ts', 'tsconfig.nodenext.json', 'tsconfig.bundler.json', 'tsconfig.node10.json']) copyFileSync(join(consumers, f), join(dir, f));
    const installed = join(dir, 'node_modules', '@sideband', 'merchant-sdk');
    assert.deepEqual(readdirSync(join(dir, 'node_modules')).sort(), ['.package-lock.json', '@sideband', '@types', 'typescript'], 'the SDK brought no dependency');
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const resolution of ['nodenext', 'bundler', 'node10']) {
      try {
        execFileSync(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: dir, encoding: 'utf8' });
      } catch (e) {
        assert.fail(`tsc under ${resolution}:\n${(e as { stdout?: string }).stdout}`);
      }
    }
    const channelOnly = ['channel.js', 'channel.cjs', 'channel.d.ts', 'channel.d.cts'].reduce((n, f) => n + statSync(join(installed, 'dist', f)).size, 0) + statSync(join(installed, 'channel', 'package.json')).size;
    const total = du(installed);
    console.log(`SDK installed: ${(total / 1024).toFixed(1)} KiB with ./channel, ${((total - channelOnly) / 1024).toFixed(1)} KiB without it`);
    assertPurchaseAndExchange(await runConsumer(dir, join(dir, 'out', 'purchase.js'), LINES.ts, 'ts'));
  });

  it('a plain JavaScript project requires both entry points, buys and runs an exchange', async () => {
    const dir = project('js-consumer', {}, false);
    copyFileSync(join(consumers, 'purchase.cjs'), join(dir, 'purchase.cjs'));
    assert.deepEqual(readdirSync(join(dir, 'node_modules')).sort(), ['.package-lock.json', '@sideband']);
    assertPurchaseAndExchange(await runConsumer(dir, 'purchase.cjs', LINES.js, 'js'));
  });
});
