import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Migrator } from 'kysely';
import { loadConfig } from '../../src/config/load-config.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { SidebandMigrations } from '../../src/store/migrations/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import { dialects, throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { runCli } from '../support/run-cli.ts';
import { ephemeralPorts, spawnGateway } from '../support/spawn-gateway.ts';

describe('a port already in use', () => {
  let db: ThrowawayDatabase;
  let udp: Socket;
  let tcp: Server;
  before(async () => {
    db = await throwawayDatabase('sqlite');
    udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    udp.close();
    await new Promise((r) => tcp.close(r));
    await db.drop();
  });

  it('stops `sideband start` naming the setting and its variable, before any data is written', async () => {
    const port = udp.address().port;
    await assert.rejects(spawnGateway(['--data-dir', db.dataDir], { ...ephemeralPorts, SIDEBAND_RADIUS_AUTH_PORT: String(port) }), (e: Error) => {
      assert.match(e.message, /exited with 69/);
      assert.match(e.message, new RegExp(`error LISTEN_ADDRESS_IN_USE: UDP 127\\.0\\.0\\.1:${port} for listen\\.radiusAuth \\(SIDEBAND_RADIUS_AUTH_PORT\\) is already in use`));
      assert.match(e.message, /fix: /);
      return true;
    });
    assert.deepEqual(readdirSync(db.dataDir), [], 'no store, keyring, demo data or lock left behind');
  });

  it('names a TCP listener\'s setting too, and two settings that ask for one port', async () => {
    const port = (tcp.address() as AddressInfo).port;
    const config = loadConfig({ env: {}, overrides: { dataDir: db.dataDir, listen: { host: '127.0.0.1', radiusAuth: 0, radiusAcct: 0, netflow: 0, ipfix: 0, merchantHttp: 0, portalHttp: 0, demoStoreHttp: 0, operatorHttp: port }, channel: { exchange: { port: 0 } } } });
    await assert.rejects(new Gateway({ config, logger: createTestLogger('port-in-use') }).start(), (e: SidebandError) => e.code === 'LISTEN_ADDRESS_IN_USE' && e.param === 'listen.operatorHttp' && e.message.includes('SIDEBAND_OPERATOR_PORT'));
    assert.equal(existsSync(join(db.dataDir, 'demo.json')), false);
    const twice = loadConfig({ env: {}, overrides: { dataDir: db.dataDir, listen: { netflow: 40_555, ipfix: 40_555 } } });
    await assert.rejects(new Gateway({ config: twice, logger: createTestLogger('port-twice') }).start(), (e: SidebandError) => e.code === 'CONFIG_INVALID' && /listen\.netflow \(SIDEBAND_NETFLOW_PORT\) and listen\.ipfix \(SIDEBAND_IPFIX_PORT\) both ask for UDP 127\.0\.0\.1:40555/.test(e.message));
  });
});

describe('a missing @file', () => {
  let db: ThrowawayDatabase;
  before(async () => {
    db = await throwawayDatabase('sqlite');
  });
  after(async () => db.drop());

  it('is "not found" (exit 66) with the path and a fix, not an internal error', async () => {
    const added = await runCli(['--data-dir', db.dataDir, '--json', 'merchant', 'add', 'Files Shop']);
    assert.equal(added.code, 0, added.stderr);
    const id = JSON.parse(added.stdout).id as string;
    const r = await runCli(['--data-dir', db.dataDir, 'merchant', 'add-key', id, '@no-such-key.pub.pem']);
    assert.equal(r.code, 66);
    assert.match(r.stderr, /^error INPUT_FILE_NOT_FOUND: No file \/\S+\/no-such-key\.pub\.pem \(given as @no-such-key\.pub\.pem\)\.\n {2}fix: Check the path after the @/);
    const dir = await runCli(['--data-dir', db.dataDir, 'merchant', 'add-key', id, `@${db.dataDir}`]);
    assert.equal(dir.code, 65);
    assert.match(dir.stderr, /INPUT_FILE_UNREADABLE/);
  });
});

for (const dialect of dialects) {
  describe(`sideband db migrate on ${dialect}`, () => {
    let db: ThrowawayDatabase;
    before(async () => {
      db = await throwawayDatabase(dialect);
    });
    after(async () => db.drop());

    it('prints each migration it applied, also to a database a version behind, then that nothing is left', async () => {
      const store = await openStore({ dataDir: db.dataDir, databaseUrl: db.databaseUrl, verifySchema: false });
      const { error } = await new Migrator({ db: store.db, provider: new SidebandMigrations(store.dialect) }).migrateTo('0006-money-paths');
      await store.close();
      assert.equal(error, undefined);
      const g = ['--data-dir', db.dataDir, ...(db.databaseUrl ? ['--database-url', db.databaseUrl] : [])];
      const first = await runCli([...g, 'db', 'migrate']);
      assert.equal(first.code, 0, first.stderr);
      const later = Object.keys(await new SidebandMigrations(store.dialect).getMigrations()).filter((name) => name > '0006-money-paths').sort();
      assert.ok(later.includes('0008-master-keys-and-removed-nas'));
      assert.equal(first.stdout, `applied to ${store.location}:\n${later.map((name) => `  ${name}\n`).join('')}`);
      const json = await runCli([...g, '--json', 'db', 'migrate']);
      assert.deepEqual(JSON.parse(json.stdout).applied, []);
      assert.match((await runCli([...g, 'db', 'migrate'])).stdout, /is up to date \(nothing to apply\)/);
    });
  });
}
