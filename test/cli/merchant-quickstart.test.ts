import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ephemeralPorts, spawnGateway, type SpawnedGateway } from '../support/spawn-gateway.ts';
import { haveCommand } from '../../scripts/debian-peers.js';

/**
 * docs/merchant-quickstart.md, as written: its `sh` blocks in order in one shell (so the
 * variables they set carry on), and its shop.mjs, against a gateway started on a fresh
 * demo data directory with every listener on a free port (the page reads them all from
 * demo.json). The scratch directory stands for the checkout: `npx sideband` is this
 * checkout's bin, and node_modules/@sideband/merchant-sdk its built SDK.
 */
const root = new URL('../..', import.meta.url).pathname;
const page = readFileSync(join(root, 'docs', 'merchant-quickstart.md'), 'utf8');
const blocks = (lang: string): string[] => [...page.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
const have = haveCommand;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('the merchant quickstart, as written', { skip: have('radclient') ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
  let dir: string;
  let gateway: SpawnedGateway;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-quickstart-'));
    gateway = await spawnGateway(['--data-dir', join(dir, 'data')], ephemeralPorts);
    mkdirSync(join(dir, 'node_modules', '@sideband'), { recursive: true });
    symlinkSync(join(root, 'packages', 'merchant-sdk'), join(dir, 'node_modules', '@sideband', 'merchant-sdk'));
  });
  after(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keygen, add-key, a customer in session visiting the shop, webhooks, and an approved, captured and refunded purchase', async () => {
    const shop = blocks('js').find((b) => b.startsWith('// shop.mjs'));
    assert.ok(shop, 'the page holds shop.mjs');
    writeFileSync(join(dir, 'shop.mjs'), shop);
    const script = blocks('sh').join('\n');
    assert.match(script, /npx sideband merchant keygen/);
    const prelude = `npx() { if [ "$1" = sideband ]; then shift; node "${join(root, 'bin/sideband.js')}" "$@"; else command npx "$@"; fi; }\n`;
    const child = spawn('sh', ['-e', '-c', prelude + script], { cwd: dir, env: { ...process.env, HOOK_PORT: String(await freePort()), NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const log = process.env.SIDEBAND_TEST_LOG_DIR;
    if (log) appendFileSync(join(log, `quickstart-${process.pid}.log`), stdout + stderr);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /sideband merchant add-key mer_\w+ @shop-ed25519\.pub\.pem --key-id shop-1/, 'keygen printed the add-key line');
    assert.match(stdout, /the customer is at 192\.0\.2\.\d+/);
    assert.match(stdout, /202 \{"received":1,"attributed":1/);
    assert.match(stdout, /authorization auth_\w+: approved/);
    assert.match(stdout, /captured 1999 EUR/);
    assert.match(stdout, /refunded 1999 EUR/);
    for (const type of ['approved', 'captured', 'refunded']) assert.match(stdout, new RegExp(`webhook authorization\\.${type} \\(verified\\)`));
    assert.doesNotMatch(stdout, /webhook refused/);
  });
});
