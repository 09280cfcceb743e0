import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SidebandError } from '../../src/errors/sideband-error.ts';
import { testContext, type TestContext } from '../support/contexts.ts';
import { dialects } from '../support/databases.ts';

const fingerprint = (seed: string): string => createHash('sha256').update(seed).digest('hex');
const refused = (code: string) => (e: SidebandError) => e.code === code;

for (const dialect of dialects) {
  describe(`a RadSec identity names one NAS, on ${dialect}`, () => {
    let t: TestContext;
    before(async () => {
      t = await testContext(dialect, `radsec-identities-${dialect}`);
    });
    after(async () => t.dispose());

    const add = (name: string, tls: { tlsFingerprint?: string; tlsName?: string }) => t.ctx.network.addNas({ name, address: '127.0.0.0/8', secret: 'radsec-test-secret-16', ...tls });

    it('refuses a certificate fingerprint or a name another NAS is known by, on add and on update; the refusal writes nothing', async () => {
      await add('bng-a', { tlsFingerprint: fingerprint('a'), tlsName: 'bng-a.access.test' });
      await assert.rejects(add('bng-b', { tlsFingerprint: fingerprint('a') }), refused('NAS_TLS_FINGERPRINT_TAKEN'));
      // Colons and capitals are the same fingerprint (openssl prints it so).
      await assert.rejects(add('bng-b', { tlsFingerprint: fingerprint('a').toUpperCase().match(/../g)!.join(':') }), refused('NAS_TLS_FINGERPRINT_TAKEN'));
      await assert.rejects(add('bng-b', { tlsName: 'BNG-A.access.test' }), refused('NAS_TLS_NAME_TAKEN'));
      assert.deepEqual((await t.ctx.network.listNas()).map((n) => n.name), ['bng-a']);

      await add('bng-b', { tlsName: 'bng-b.access.test' });
      await assert.rejects(t.ctx.network.updateNas('bng-b', { tlsName: 'bng-a.access.test' }), refused('NAS_TLS_NAME_TAKEN'));
      await assert.rejects(t.ctx.network.updateNas('bng-b', { tlsFingerprint: fingerprint('a') }), refused('NAS_TLS_FINGERPRINT_TAKEN'));
      // A NAS may keep its own name when something else of it changes.
      await t.ctx.network.updateNas('bng-b', { tlsName: 'bng-b.access.test', coaPort: 3799 });
      assert.equal((await t.ctx.network.listNas()).find((n) => n.name === 'bng-b')?.tlsName, 'bng-b.access.test');
    });

    it('the store itself refuses a second NAS with the same name, whatever the code above it does', async () => {
      const row = await t.ctx.store.db.selectFrom('nas_clients').selectAll().where('name', '=', 'bng-a').executeTakeFirstOrThrow();
      await assert.rejects(t.ctx.store.db.insertInto('nas_clients').values({ ...row, id: `${row.id}-copy`, name: 'bng-copy', tls_fingerprint: null }).execute(), /tls_name/);
    });

    it('a removed NAS gives its fingerprint and name back', async () => {
      await t.ctx.network.removeNas('bng-a');
      await add('bng-c', { tlsFingerprint: fingerprint('a'), tlsName: 'bng-a.access.test' });
      assert.equal((await t.ctx.network.listNas()).find((n) => n.name === 'bng-c')?.tlsFingerprint, fingerprint('a'));
    });
  });
}
