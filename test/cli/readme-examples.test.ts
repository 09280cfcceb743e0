import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { exitCodes } from '../../src/cli/output.ts';
import { ephemeralPorts, spawnGateway, type SpawnedGateway } from '../support/spawn-gateway.ts';
import { testCardNumber } from '../support/test-cards.ts';
import { haveCommand } from '../../scripts/debian-peers.js';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The first ```sh block after a heading of the README. */
function shellBlock(heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has no heading ${heading}`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `no sh block after ${heading}`);
  return m[1]!;
}

/**
 * Runs README lines with sh -e, as an operator pastes them. `npx sideband` is this
 * checkout's bin (npx would do the same inside the project; here the directory is a
 * scratch one, so that `./data` is a fresh demo data directory). What the lines print is
 * kept in the suite's log directory for the never-in-clear scan.
 */
function runLines(script: string, cwd: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const prelude = `npx() { if [ "$1" = sideband ]; then shift; node "${join(root, 'bin/sideband.js')}" "$@"; else command npx "$@"; fi; }\n`;
  const r = spawnSync('sh', ['-e', '-c', prelude + script], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  const dir = process.env.SIDEBAND_TEST_LOG_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `readme-${process.pid}.log`), `${r.stdout}${r.stderr}`);
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const have = haveCommand;

describe('the README\'s examples, as written, against a fresh demo data directory', () => {
  let dir: string;
  let gateway: SpawnedGateway;
  let listen: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-readme-'));
    gateway = await spawnGateway(['--data-dir', join(dir, 'data')], ephemeralPorts);
    listen = (JSON.parse(readFileSync(join(dir, 'data', 'demo.json'), 'utf8')) as { listen: Record<string, string> }).listen;
  });
  after(async () => {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the RADIUS and resolution example answers for the demo subscriber', { skip: have('radclient') ? false : 'radclient missing (apt-get install freeradius-utils)' }, () => {
    // Only the ports differ: every listener of this gateway took a free one (demo.json says which).
    const script = shellBlock('## What listens where').replaceAll('127.0.0.1:1812', listen.radiusAuth!).replaceAll('127.0.0.1:7080', listen.operatorHttp!);
    const r = runLines(script, dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Received Access-Accept/);
    assert.match(r.stdout, /"subscriber":\{"id":"sub_\w+","login":"demo"\}/);
  });

  it('every management example works, beside the running gateway', () => {
    writeFileSync(join(dir, 'books-ed25519.pub.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const fingerprint = `sha-256 ${[...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
    const r = runLines(shellBlock('## Managing subscribers, NAS equipment and merchants'), dir, { PAN: testCardNumber(33), FINGERPRINT: fingerprint });
    assert.equal(r.code, 0, `a README line failed:\n${r.stderr}`);
    assert.match(r.stdout, /424242••••••4242/);
    assert.match(r.stdout, /removed pool access 10\.64\.0\.0\/16/, 'the block ran to its last line');
  });

  it('lists the exit codes docs/errors.md and the CLI use', () => {
    const parse = (text: string): Map<number, string> => new Map([...text.matchAll(/(\d{2}) ([a-z]+(?: [a-z]+)*)/g)].map((m) => [Number(m[1]), m[2]!]));
    const inReadme = parse(/Exit codes: ([^;]+);/.exec(readme.replace(/\s+/g, ' '))![1]!.replace(/\([^)]*\)/g, ''));
    const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8').replace(/\s+/g, ' ');
    const inDocs = parse(/exits with a code by type \(([^)]+)\)/.exec(docs)![1]!);
    assert.equal(inReadme.get(0), undefined, 'success is listed apart');
    assert.match(readme.replace(/\s+/g, ' '), /Exit codes: 0 success, /);
    assert.deepEqual([...inReadme.entries()].sort(), [...inDocs.entries()].sort());
    for (const [type, code] of Object.entries(exitCodes)) assert.ok(inDocs.get(code)?.includes(type.replace('_', ' ')), `${type} → ${code} is listed`);
    assert.equal(inDocs.get(64), 'usage');
  });
});

describe('the README\'s PostgreSQL recipe', () => {
  const admin = process.env.SIDEBAND_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `sideband_readme_${randomBytes(4).toString('hex')}`;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sideband-readme-pg-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`drop role if exists ${name}`);
    await c.end();
  });

  it('creates its role and database, and db migrate runs as that role', { skip: have('psql') && have('createdb') ? false : 'psql and createdb missing (apt-get install postgresql-client)' }, () => {
    const recipe = shellBlock('### PostgreSQL');
    assert.match(recipe, /create role sideband login password/);
    assert.match(recipe, /createdb --owner sideband sideband/);
    // The same lines, as the server's administrator of this test server rather than through
    // sudo, with a name of their own (a role is shared by every database of the server),
    // and without the last one, which runs the gateway until it is stopped.
    const u = new URL(admin);
    const script = recipe
      .replaceAll('sudo -u postgres ', '')
      .replace(/\bsideband login\b/, `${name} login`)
      .replace('--owner sideband sideband', `--owner ${name} ${name}`)
      .replace('postgres://sideband:$PGPASS@127.0.0.1/sideband', `postgres://${name}:$PGPASS@${u.host}/${name}`)
      .replace(/^npx sideband start.*$/m, '');
    const r = runLines(script, dir, { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username) || 'postgres', PGDATABASE: u.pathname.slice(1) || 'postgres' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /applied to postgres:\/\/\S+:\*\*\*@\S+:\n {2}0001-foundation\n/);
  });
});
