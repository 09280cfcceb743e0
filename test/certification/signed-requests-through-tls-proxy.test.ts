import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import type { ConfigInput } from '../../src/config/schema.ts';
import { dialects } from '../support/databases.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { freeTcpPort, haveNginx, nginxMissing, startTlsProxy, type ForwardingHeaders, type RunningTlsProxy } from '../support/nginx.ts';

/**
 * The deployment the README describes: TLS terminated by a reverse proxy (a real nginx)
 * in front of the plain-HTTP merchant port. The SDK signs the https:// URL it sends to;
 * the gateway must rebuild that @target-uri from merchantApi.publicOrigin or from a
 * trusted proxy's forwarding headers, and refuses it otherwise.
 */
for (const dialect of dialects) {
  describe(`signed requests through a TLS-terminating nginx on ${dialect}`, { skip: haveNginx ? false : nginxMissing, timeout: 120_000 }, () => {
    const running: Array<{ dispose(): Promise<void> } | RunningTlsProxy> = [];
    after(async () => {
      for (const r of running.reverse()) await ('stop' in r ? r.stop() : r.dispose());
    });

    const gateway = async (name: string, merchantApi: NonNullable<ConfigInput['merchantApi']>): Promise<MerchantSetup> => {
      const m = await merchantSetup(dialect, `${name}-${dialect}`, { settlement: 'provider_bill', config: { merchantApi } });
      running.push(m);
      return m;
    };
    const proxy = async (m: MerchantSetup, headers: ForwardingHeaders, port?: number): Promise<RunningTlsProxy> => {
      const p = await startTlsProxy({ upstream: m.t.gateway.listen.merchantHttp!, headers, port, name: `nginx-${dialect}` });
      running.push(p);
      return p;
    };
    /** The merchant's SDK, addressing the gateway at the proxy's https:// origin. */
    const clientThrough = (m: MerchantSetup, p: RunningTlsProxy) => new SidebandClient({ baseUrl: p.origin, keyId: m.keyId, privateKey: m.privateKey, fetch: httpsFetch(p.ca), maxRetries: 0 });
    const purchase = async (m: MerchantSetup, p: RunningTlsProxy, login: string) => {
      const { address } = await shopper(m, login);
      return clientThrough(m, p).authorizations.create({ customer: { address }, amount: 250, currency: 'EUR', settlement: 'provider_bill', capture: 'manual' });
    };

    describe('with merchantApi.publicOrigin', () => {
      let m: MerchantSetup;
      let p: RunningTlsProxy;
      before(async () => {
        // The origin must be known before the gateway starts, so the proxy's port is chosen first.
        const port = await freeTcpPort();
        m = await gateway('proxy-origin', { publicOrigin: `https://127.0.0.1:${port}` });
        p = await proxy(m, 'x-forwarded', port);
      });

      it('accepts a purchase the SDK signed for https://127.0.0.1:PORT, and its capture', async () => {
        const auth = await purchase(m, p, 'olga');
        assert.equal(auth.status, 'approved', JSON.stringify(auth));
        const client = clientThrough(m, p);
        const capture = await client.authorizations.capture(auth.id);
        assert.equal(capture.amount, 250);
        assert.equal((await client.authorizations.retrieve(auth.id)).status, 'captured');
      });
    });

    describe('with merchantApi.trustedProxies holding the proxy\'s address', () => {
      let m: MerchantSetup;
      before(async () => {
        m = await gateway('proxy-trusted', { trustedProxies: ['127.0.0.0/8'] });
      });

      it('accepts a purchase whose scheme and host come in X-Forwarded-Proto and X-Forwarded-Host', async () => {
        const auth = await purchase(m, await proxy(m, 'x-forwarded'), 'pia');
        assert.equal(auth.status, 'approved', JSON.stringify(auth));
      });

      it('accepts a purchase whose scheme and host come in RFC 7239 Forwarded', async () => {
        const auth = await purchase(m, await proxy(m, 'forwarded'), 'quinn');
        assert.equal(auth.status, 'approved', JSON.stringify(auth));
      });
    });

    describe('with neither setting', () => {
      let m: MerchantSetup;
      before(async () => {
        m = await gateway('proxy-unknown', {});
      });

      it('refuses the same purchase with SIGNATURE_INVALID: the gateway sees http://, not the https:// that was signed', async () => {
        const p = await proxy(m, 'x-forwarded');
        await assert.rejects(purchase(m, p, 'rhea'), (e: unknown) => e instanceof SidebandApiError && e.status === 401 && e.code === 'SIGNATURE_INVALID');
        const stored = await m.t.gateway.context.store.db.selectFrom('authorizations').select('id').execute();
        assert.deepEqual(stored, [], 'nothing was authorized');
      });

      it('believes no forwarding header from a peer it does not trust', async () => {
        const { address } = await shopper(m, 'sven');
        // Straight to the plain-HTTP port, claiming to have come through TLS.
        const liar: typeof fetch = (input, init) => fetch(String(input).replace(/^https:/, 'http:'), { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-forwarded-proto': 'https', forwarded: 'proto=https' } });
        const client = new SidebandClient({ baseUrl: `https://${m.t.gateway.listen.merchantHttp}`, keyId: m.keyId, privateKey: m.privateKey, fetch: liar, maxRetries: 0 });
        await assert.rejects(client.authorizations.create({ customer: { address }, amount: 250, currency: 'EUR' }), (e: unknown) => e instanceof SidebandApiError && e.code === 'SIGNATURE_INVALID');
      });
    });
  });
}
