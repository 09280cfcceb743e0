import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { runCli } from '../support/run-cli.ts';

describe('sideband merchant keygen', () => {
  let db: ThrowawayDatabase;
  let dir: string;
  before(async () => {
    db = await throwawayDatabase('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'sideband-keygen-'));
  });
  after(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes an Ed25519 pair, the private key 0600, and prints the add-key line that registers it', async () => {
    const g = ['--data-dir', db.dataDir];
    const added = await runCli([...g, '--json', 'merchant', 'add', 'Keygen Books']);
    const merchantId = (JSON.parse(added.stdout) as { id: string }).id;
    const prefix = join(dir, 'books');
    const r = await runCli(['merchant', 'keygen', '--out', prefix, '--key-id', 'books-2026', '--merchant', merchantId]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), `sideband merchant add-key ${merchantId} @${prefix}-ed25519.pub.pem --key-id books-2026`);
    assert.equal(statSync(`${prefix}-ed25519.pem`).mode & 0o777, 0o600);
    assert.ok(!r.stdout.includes('PRIVATE KEY'), 'the private key is written, never printed');
    const privateKey = createPrivateKey(readFileSync(`${prefix}-ed25519.pem`, 'utf8'));
    const publicKey = createPublicKey(readFileSync(`${prefix}-ed25519.pub.pem`, 'utf8'));
    assert.equal(privateKey.asymmetricKeyType, 'ed25519');
    assert.ok(verify(null, Buffer.from('x'), publicKey, sign(null, Buffer.from('x'), privateKey)), 'the two files are one pair');

    // The printed line, as the operator runs it.
    const [, ...args] = lines.at(-1)!.split(' ');
    const registered = await runCli([...g, ...args]);
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /registered ed25519 key books-2026/i);
  });

  it('overwrites nothing: existing key files are KEY_FILE_EXISTS (exit 67) and stay as they were', async () => {
    const prefix = join(dir, 'twice');
    assert.equal((await runCli(['merchant', 'keygen', '--out', prefix])).code, 0);
    const before = readFileSync(`${prefix}-ed25519.pem`, 'utf8');
    const again = await runCli(['merchant', 'keygen', '--out', prefix]);
    assert.equal(again.code, 67);
    assert.match(again.stderr, /KEY_FILE_EXISTS/);
    assert.equal(readFileSync(`${prefix}-ed25519.pem`, 'utf8'), before);
  });

  it('without --merchant the line names MERCHANT_ID, and the key id defaults to PREFIX-YYYYMMDD', async () => {
    const r = await runCli(['--json', 'merchant', 'keygen', '--out', join(dir, 'shop')]);
    const pair = JSON.parse(r.stdout) as { keyId: string; addKey: string };
    assert.match(pair.keyId, /^shop-\d{8}$/);
    assert.match(pair.addKey, /^sideband merchant add-key MERCHANT_ID @\S+shop-ed25519\.pub\.pem --key-id shop-\d{8}$/);
  });
});
