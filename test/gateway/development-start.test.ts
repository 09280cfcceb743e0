import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { ephemeralPorts, spawnGateway, type SpawnedGateway } from '../support/spawn-gateway.ts';

interface DemoFile {
  subscriber: { login: string; password: string };
  nas: { name: string; secret: string };
  merchant: { id: string; keyId: string; privateKeyPath: string };
  operator: { token: string };
  listen: Record<string, string>;
}

describe('sideband start on a fresh data directory', () => {
  let db: ThrowawayDatabase;
  let gw: SpawnedGateway;
  let demo: DemoFile;

  before(async () => {
    db = await throwawayDatabase('sqlite');
    gw = await spawnGateway(['--data-dir', db.dataDir], ephemeralPorts);
    demo = JSON.parse(readFileSync(join(db.dataDir, 'demo.json'), 'utf8')) as DemoFile;
  });
  after(async () => {
    await gw.stop();
    await db.drop();
  });

  it('creates a 0600 development key, demo data and demo.json, and prints the same', () => {
    assert.equal(statSync(join(db.dataDir, 'master-keys.json')).mode & 0o777, 0o600);
    assert.equal(statSync(demo.merchant.privateKeyPath).mode & 0o777, 0o600);
    assert.equal(demo.subscriber.login, 'demo');
    assert.ok(demo.nas.secret.length >= 16);
    assert.match(demo.merchant.id, /^mer_/);
    assert.match(demo.operator.token, /^sbop_/);
    assert.match(demo.listen.operatorHttp!, /^127\.0\.0\.1:\d+$/);
    assert.ok(gw.stdout().includes(demo.listen.operatorHttp!), 'prints where it listens');
    assert.ok(gw.stdout().includes(demo.operator.token), 'prints the demo credentials');
  });

  it('serves /healthz and Prometheus /metrics, and the operator API behind its token', async () => {
    const base = `http://${demo.listen.operatorHttp}`;
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok', store: 'sqlite' });
    assert.match(await (await fetch(`${base}/metrics`)).text(), /sideband_process_cpu_seconds_total/);
    const anon = await fetch(`${base}/v1/subscribers`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { error: { code: string } }).error.code, 'OPERATOR_TOKEN_MISSING');
    const wrong = await fetch(`${base}/v1/subscribers`, { headers: { authorization: 'Bearer sbop_wrong' } });
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'OPERATOR_TOKEN_INVALID');
    const res = await fetch(`${base}/v1/subscribers/demo`, { headers: { authorization: `Bearer ${demo.operator.token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { login: string; cards: Array<{ masked: string }> };
    assert.equal(body.login, 'demo');
    assert.equal(body.cards[0]!.masked, '424242••••••4242');
    const missing = await fetch(`${base}/v1/subscribers/nobody`, { headers: { authorization: `Bearer ${demo.operator.token}` } });
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(((await missing.json()) as { error: object }).error).sort(), ['code', 'message', 'param', 'type']);
  });

  it('shuts down cleanly on SIGTERM and reuses the directory as it is on the next start', async () => {
    assert.equal(await gw.stop('SIGTERM'), 0);
    const keyring = readFileSync(join(db.dataDir, 'master-keys.json'), 'utf8');
    gw = await spawnGateway(['--data-dir', db.dataDir], ephemeralPorts);
    assert.equal(readFileSync(join(db.dataDir, 'master-keys.json'), 'utf8'), keyring, 'the key is kept');
    const again = JSON.parse(readFileSync(join(db.dataDir, 'demo.json'), 'utf8')) as DemoFile;
    assert.equal(again.operator.token, demo.operator.token, 'no second demo data set');
    const res = await fetch(`http://${again.listen.operatorHttp}/v1/subscribers`, { headers: { authorization: `Bearer ${demo.operator.token}` } });
    assert.equal(((await res.json()) as { data: unknown[] }).data.length, 1);
  });

  it('refuses to start with a bad setting, naming it', async () => {
    await assert.rejects(spawnGateway(['--data-dir', db.dataDir], { ...ephemeralPorts, SIDEBAND_LOG_LEVEL: 'chatty' }), /CONFIG_INVALID[\s\S]*logLevel/);
  });
});
