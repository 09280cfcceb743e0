import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SipFailure, UserAgent } from '@sideband/sip/user-agent';
import { providerLinePassword } from '../../src/channel/service/provider-line-password.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { configSchema } from '../../src/config/schema.ts';
import { isDevelopmentStart, refuseWeakSecrets } from '../../src/config/weak-secrets.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { openContext, type Context } from '../../src/gateway/context.ts';
import { createTestLogger } from '../../src/observability/logger.ts';
import { testContext, testScryptCost } from '../support/contexts.ts';
import { dialects, throwawayDatabase } from '../support/databases.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/** The value the configuration schema used to default the provider's line password to. */
const OLD_DEFAULT = 'provider-line-password';
const PROVIDER_NUMBER = '+15550100000';

async function registerAs(registrar: string, password: string, name: string): Promise<SipFailure | null> {
  const ua = new UserAgent({ host: '127.0.0.1', udpPort: 0, logger: createTestLogger(name) });
  await ua.start();
  try {
    await ua.register([PROVIDER_NUMBER], { registrar, username: 'provider', password, expires: 60 });
    return null;
  } catch (e) {
    if (e instanceof SipFailure) return e;
    throw e;
  } finally {
    await ua.stop();
  }
}

describe('no secret has a default in the code', () => {
  it('leaves the provider line password unset unless configured', () => {
    assert.equal(loadConfig({ env: {} }).channel.exchange.password, undefined);
    assert.equal(configSchema.parse({}).channel.exchange.password, undefined);
  });

  it('refuses a weak or published credential in the configuration outside the development start', () => {
    const publicHost = (exchange: Record<string, unknown>) => loadConfig({ env: {}, overrides: { listen: { host: '192.0.2.10' }, channel: { mediaAddress: '192.0.2.11', exchange: { host: '192.0.2.12', ...exchange } } } });
    assert.equal(isDevelopmentStart(publicHost({})), false);
    assert.throws(() => refuseWeakSecrets(publicHost({ password: OLD_DEFAULT })), (e: SidebandError) => e.code === 'CONFIG_SECRET_WEAK' && e.param === 'channel.exchange.password' && /published default/.test(e.message));
    assert.throws(() => refuseWeakSecrets(publicHost({ password: 'short-pass' })), (e: SidebandError) => e.code === 'CONFIG_SECRET_WEAK' && /shorter than 16/.test(e.message));
    assert.throws(() => refuseWeakSecrets(publicHost({ lines: [{ username: 'shop-line-user', password: 'shop-line-user', numbers: ['+15550199000'] }] })), (e: SidebandError) => e.param === 'channel.exchange.lines[0].password' && /same as its username/.test(e.message));
    refuseWeakSecrets(publicHost({ password: 'Vx3-9qTbL2mN8rPz' }));
    refuseWeakSecrets(publicHost({}));
    const loopback = loadConfig({ env: {}, overrides: { channel: { exchange: { password: OLD_DEFAULT } } } });
    assert.equal(isDevelopmentStart(loopback), true);
    refuseWeakSecrets(loopback);
  });

  it('stops such a gateway before it opens the store', async () => {
    const db = await throwawayDatabase('sqlite');
    try {
      const config = loadConfig({ env: {}, overrides: { dataDir: db.dataDir, listen: { host: '192.0.2.10' }, channel: { exchange: { password: OLD_DEFAULT } } } });
      await assert.rejects(new Gateway({ config, logger: createTestLogger('weak-secret-start') }).start(), (e: SidebandError) => e.code === 'CONFIG_SECRET_WEAK');
      assert.equal(existsSync(join(db.dataDir, 'sideband.sqlite')), false);
      assert.equal(existsSync(join(db.dataDir, 'master-keys.json')), false);
    } finally {
      await db.drop();
    }
  });
});

for (const dialect of dialects) {
  describe(`the provider's line password on ${dialect}`, () => {
    let t: TestGateway;
    let exchangeAlone: ChildProcess | null = null;
    before(async () => {
      t = await startTestGateway(dialect, `line-password-${dialect}`);
    });
    after(async () => {
      exchangeAlone?.kill('SIGTERM');
      await t.dispose();
    });

    it('is generated on first start and kept in the vault, the same for every process on the database', async () => {
      const ctx = t.gateway.context;
      const records = await ctx.store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').execute();
      assert.equal(records.length, 1);
      const password = await providerLinePassword(ctx.config, ctx.store, ctx.vault);
      assert.ok(password.length >= 24 && password !== OLD_DEFAULT);
      assert.equal(await providerLinePassword(ctx.config, ctx.store, ctx.vault), password, 'read again, not generated again');
    });

    it('the built-in exchange refuses the provider\'s numbers to the old default password, and accepts the generated one', async () => {
      const registrar = `sip:${t.gateway.listen.exchangeUdp}`;
      const refused = await registerAs(registrar, OLD_DEFAULT, `old-default-${dialect}`);
      assert.equal(refused?.code, 'SIP_UNAUTHENTICATED');
      const ctx = t.gateway.context;
      assert.equal(await registerAs(registrar, await providerLinePassword(ctx.config, ctx.store, ctx.vault), `generated-${dialect}`), null);
    });

    it('sideband exchange run alone on the same data takes the same password from the vault', async () => {
      const args = ['bin/sideband.js', '--data-dir', t.database.dataDir, ...(t.database.databaseUrl ? ['--database-url', t.database.databaseUrl] : []), 'exchange'];
      const child = spawn(process.execPath, args, { env: { ...process.env, SIDEBAND_EXCHANGE_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      exchangeAlone = child;
      const registrar = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /exchangeUdp\s+(\S+)/.exec(out);
          if (m && out.includes('Stop with Ctrl-C.')) resolve(`sip:${m[1]}`);
        });
        child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => reject(new Error(`sideband exchange exited with ${code}:\n${out}`)));
      });
      assert.equal((await registerAs(registrar, OLD_DEFAULT, `alone-old-${dialect}`))?.code, 'SIP_UNAUTHENTICATED');
      const ctx = t.gateway.context;
      assert.equal(await registerAs(registrar, await providerLinePassword(ctx.config, ctx.store, ctx.vault), `alone-generated-${dialect}`), null);
    });
  });
}

/** Runs `sideband exchange` alone with these arguments until it exits or says it runs. */
function exchangeAlone(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['bin/sideband.js', ...args, 'exchange'], { env: { ...process.env, SIDEBAND_EXCHANGE_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve) => {
    const collect = (c: Buffer) => {
      out += c.toString();
      if (out.includes('Stop with Ctrl-C.')) child.kill('SIGTERM');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('close', (code) => resolve({ code, out }));
  });
}

for (const dialect of dialects) {
  describe(`sideband exchange alone, with no line password to read, on ${dialect}`, () => {
    it('refuses, saying how to give it the password, and creates nothing: no store, no keyring, no password', async () => {
      const db = await throwawayDatabase(dialect);
      try {
        const r = await exchangeAlone(['--data-dir', db.dataDir, ...(db.databaseUrl ? ['--database-url', db.databaseUrl] : [])]);
        assert.notEqual(r.code, 0, r.out);
        assert.doesNotMatch(r.out, /Sideband exchange is running/);
        assert.match(r.out, /CHANNEL_LINE_PASSWORD_UNKNOWN/);
        assert.match(r.out, /Set channel\.exchange\.password/);
        assert.deepEqual(readdirSync(db.dataDir), [], 'nothing written in the data directory');
        if (db.databaseUrl) {
          const ctx = await openContext(loadConfig({ env: {}, overrides: { dataDir: db.dataDir, databaseUrl: db.databaseUrl, demo: false } }), createTestLogger(`exchange-alone-${dialect}`), { env: {} });
          try {
            assert.equal((await ctx.store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').execute()).length, 0, 'no password sealed in the database');
          } finally {
            await ctx.close();
          }
        }
      } finally {
        await db.drop();
      }
    });

    it('refuses as well on a gateway\'s data that holds no line password (a gateway that never started its channel)', async () => {
      const t = await testContext(dialect, `exchange-alone-empty-${dialect}`);
      try {
        const r = await exchangeAlone(['--data-dir', t.database.dataDir, ...(t.database.databaseUrl ? ['--database-url', t.database.databaseUrl] : [])]);
        assert.match(r.out, /CHANNEL_LINE_PASSWORD_UNKNOWN/, r.out);
        assert.equal((await t.ctx.store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').execute()).length, 0);
      } finally {
        await t.dispose();
      }
    });
  });
}

// Several gateways share one database only on PostgreSQL (SQLite has one gateway per data directory).
describe('the provider\'s line password generated by gateways starting together on postgres', () => {
  it('is one password, sealed once, whichever gateway seals it', async () => {
    const t = await testContext('postgres', 'line-password-race');
    const others: Context[] = [];
    try {
      for (let i = 0; i < 3; i++) others.push(await openContext(t.ctx.config, createTestLogger(`line-password-race-${i}`), { scryptCost: testScryptCost, env: {} }));
      const gateways = [t.ctx, ...others];
      for (let round = 0; round < 10; round++) {
        await t.ctx.store.db.deleteFrom('vault_records').where('kind', '=', 'line-password').execute();
        const passwords = await Promise.all(gateways.map((c) => providerLinePassword(c.config, c.store, c.vault)));
        const sealed = await t.ctx.store.db.selectFrom('vault_records').select('id').where('kind', '=', 'line-password').execute();
        assert.equal(sealed.length, 1, `round ${round}: sealed once`);
        assert.equal(new Set(passwords).size, 1, `round ${round}: every gateway uses the same one`);
      }
    } finally {
      for (const c of others) await c.close();
      await t.dispose();
    }
  });
});
