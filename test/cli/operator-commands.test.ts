import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { runCli } from '../support/run-cli.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

describe('the operator command line', () => {
  let db: ThrowawayDatabase;
  let g: string[];
  const pan = testCardNumber(11);

  before(async () => {
    db = await throwawayDatabase('sqlite');
    g = ['--data-dir', db.dataDir];
  });
  after(async () => db.drop());

  it('every command answers --help', async () => {
    const commands = [[], ['db'], ['db', 'migrate'], ['start'], ['subscriber'], ['subscriber', 'add'], ['subscriber', 'list'], ['subscriber', 'show'], ['subscriber', 'suspend'], ['subscriber', 'resume'], ['subscriber', 'set-limit'], ['subscriber', 'add-card'], ['subscriber', 'remove-card'],
      ['merchant'], ['merchant', 'add'], ['merchant', 'list'], ['merchant', 'show'], ['merchant', 'certify'], ['merchant', 'revoke'], ['merchant', 'add-key'], ['merchant', 'keygen'], ['merchant', 'add-network'], ['nas', 'add'], ['nas', 'list'], ['session'], ['session', 'show'], ['session', 'disconnect'], ['pool', 'add'], ['pool', 'list'], ['keys', 'rotate'], ['keys', 'retire'], ['keys', 'list'], ['token', 'issue']];
    for (const c of commands) {
      const r = await runCli([...c, '--help']);
      assert.equal(r.code, 0, `${c.join(' ')} --help`);
      assert.match(r.stdout, /Usage: sideband/, `${c.join(' ')} --help prints usage`);
    }
  });

  it('db migrate reports what it applied, then that the schema is current', async () => {
    const first = await runCli([...g, '--json', 'db', 'migrate']);
    assert.equal(first.code, 0, first.stderr);
    const again = await runCli([...g, 'db', 'migrate']);
    assert.match(again.stdout, /up to date/);
  });

  it('the stable forms operators script work, with --json', async () => {
    let r = await runCli([...g, 'pool', 'add', 'access', '--cidr', '192.0.2.0/24']);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli([...g, 'nas', 'add', 'bng1', '--address', '127.0.0.1/32', '--secret', 'a-shared-secret-of-length', '--pool', 'access']);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli([...g, '--json', 'subscriber', 'add', 'carol', '--password', 'carols-password', '--limit', '25000', '--seconds', '3600']);
    assert.equal(r.code, 0, r.stderr);
    const sub = JSON.parse(r.stdout);
    assert.equal(sub.spendingLimit, 25000);
    assert.equal(sub.secondsRemaining, 3600);
    r = await runCli([...g, '--json', 'subscriber', 'add-card', 'carol', '--number', pan, '--expiry', futureExpiry(), '--holder', 'Carol Example', '--licence', 'LIC-99-TEST']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(pan));
    assert.equal(JSON.parse(r.stdout).masked, `${pan.slice(0, 6)}••••••${pan.slice(-4)}`);
    r = await runCli([...g, 'subscriber', 'show', 'carol']);
    assert.ok(r.stdout.includes(pan.slice(-4)) && !r.stdout.includes(pan) && !r.stdout.includes('LIC-99-TEST'));
    r = await runCli([...g, 'subscriber', 'suspend', 'carol']);
    assert.match(r.stdout, /suspended/);
    r = await runCli([...g, 'subscriber', 'resume', 'carol']);
    assert.match(r.stdout, /active/);
    r = await runCli([...g, '--json', 'subscriber', 'set-limit', 'carol', '--limit', '30000', '--auto-approve', '1000']);
    assert.equal(JSON.parse(r.stdout).autoApproveLimit, 1000);
    r = await runCli([...g, '--json', 'subscriber', 'list']);
    assert.deepEqual(JSON.parse(r.stdout).map((s: { login: string }) => s.login), ['carol']);
  });

  it('merchants are added, keyed, networked, certified and revoked', async () => {
    let r = await runCli([...g, '--json', 'merchant', 'add', 'Example Books', '--settlement', 'provider_bill', '--webhook', 'https://books.example/hooks']);
    assert.equal(r.code, 0, r.stderr);
    const id = JSON.parse(r.stdout).id as string;
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = join(db.dataDir, 'books.pub.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    r = await runCli([...g, 'merchant', 'add-key', id, `@${pem}`, '--key-id', 'books-2026']);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli([...g, 'merchant', 'add-network', id, '203.0.113.0/24']);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli([...g, '--json', 'merchant', 'certify', id]);
    const m = JSON.parse(r.stdout);
    assert.equal(m.status, 'certified');
    assert.deepEqual(m.networks, ['203.0.113.0/24']);
    assert.equal(m.keys[0].keyId, 'books-2026');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(db.dataDir, 'rsa.pem'), rsa);
    r = await runCli([...g, 'merchant', 'add-key', id, `@${join(db.dataDir, 'rsa.pem')}`]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /MERCHANT_KEY_INVALID.*Ed25519/);
    r = await runCli([...g, 'merchant', 'revoke', id]);
    assert.match(r.stdout, /revoked/);
    r = await runCli([...g, 'merchant', 'certify', id]);
    assert.equal(r.code, 67);
  });

  it('errors carry a code, a fix and a non-zero exit code', async () => {
    let r = await runCli([...g, 'subscriber', 'show', 'nobody']);
    assert.equal(r.code, 66);
    assert.match(r.stderr, /error SUBSCRIBER_NOT_FOUND: No subscriber nobody\.\n {2}fix: /);
    r = await runCli([...g, 'subscriber', 'add', 'carol', '--password', 'carols-password']);
    assert.equal(r.code, 67);
    r = await runCli([...g, '--json', 'subscriber', 'add-card', 'carol', '--number', '4242424242424241', '--expiry', futureExpiry(), '--holder', 'C']);
    assert.equal(r.code, 65);
    assert.equal(JSON.parse(r.stderr).error.code, 'VAULT_CARD_INVALID');
    assert.ok(!r.stderr.includes('4242424242424241'));
    r = await runCli([...g, 'subscriber', 'add', 'dave']);
    assert.equal(r.code, 64, 'a missing required option is a usage error');
    r = await runCli([...g, 'subscriber', 'add', 'dave', '--password', 'xxxxxxxx', '--limit', 'ten']);
    assert.equal(r.code, 64);
    r = await runCli(['--database-url', 'postgres://nobody@127.0.0.1:1/x', 'subscriber', 'list']);
    assert.equal(r.code, 69);
    assert.match(r.stderr, /STORE_UNREACHABLE/);
  });

  it('keys rotate re-wraps everything and keys retire destroys the old key', async () => {
    const before = JSON.parse((await runCli([...g, '--json', 'keys', 'list'])).stdout);
    const old = before.keys[0].keyId as string;
    const r = await runCli([...g, '--json', 'keys', 'rotate']);
    assert.equal(r.code, 0, r.stderr);
    const rotated = JSON.parse(r.stdout);
    assert.equal(rotated.previousKey, old);
    assert.ok(rotated.rewrapped >= 3);
    assert.match(r.stderr, /re-wrapped \d+\/\d+/, 'rotation reports progress');
    assert.equal((await runCli([...g, 'keys', 'retire', old])).code, 0);
    const show = await runCli([...g, 'subscriber', 'show', 'carol']);
    assert.equal(show.code, 0);
  });

  it('the installed executable runs (package.json bin)', () => {
    const out = execFileSync(process.execPath, ['bin/sideband.js', '--help'], { encoding: 'utf8' });
    assert.match(out, /Usage: sideband/);
    const bad = spawnSync(process.execPath, ['bin/sideband.js', '--data-dir', db.dataDir, 'subscriber', 'show', 'nobody'], { encoding: 'utf8' });
    assert.equal(bad.status, 66);
  });
});
