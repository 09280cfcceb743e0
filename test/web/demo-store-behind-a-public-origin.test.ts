import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestLogger } from '../../src/observability/logger.ts';
import { DemoStore } from '../../src/web/demo-store/demo-store.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';

const PUBLIC_ORIGIN = 'https://pay.isp.example';

/**
 * A gateway whose merchant API is published behind a TLS proxy (merchantApi.publicOrigin)
 * verifies every signature against that origin. The development start's demo store
 * reaches the gateway directly, past the proxy: it must still sign for the public origin
 * (the SDK's connectUrl), or every purchase is refused with SIGNATURE_INVALID.
 */
describe('the demo store of a gateway behind merchantApi.publicOrigin', () => {
  let m: MerchantSetup;
  let address: string;
  const stores: DemoStore[] = [];

  const openStore = async (publicOrigin: string | undefined): Promise<string> => {
    const store = new DemoStore({
      merchantApi: `http://${m.t.gateway.listen.merchantHttp}`, publicOrigin, keyId: m.keyId,
      privateKey: m.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      host: '127.0.0.1', port: 0, http: m.t.gateway.context.config.http, logger: createTestLogger('demo-store-behind-a-public-origin'),
    });
    stores.push(store);
    return `http://${await store.listen()}`;
  };
  const buy = async (origin: string) => {
    const c = new PortalClient(origin);
    await c.get(`/?address=${address}`);
    const bought = await c.post('/buy', { sku: 'field-guide', address });
    return { c, bought };
  };

  before(async () => {
    m = await merchantSetup('sqlite', 'demo-store-public-origin', { settlement: 'provider_bill', config: { merchantApi: { publicOrigin: PUBLIC_ORIGIN } } });
    ({ address } = await shopper(m, 'kai'));
  });
  after(async () => {
    for (const s of stores) await s.close();
    await m?.dispose();
  });

  it('sells when it signs for the public origin and connects to the gateway directly', async () => {
    const { c, bought } = await buy(await openStore(PUBLIC_ORIGIN));
    assert.equal(bought.status, 303, bought.body.slice(0, 400));
    const order = await c.get(`${bought.location!}/state`);
    assert.equal(JSON.parse(order.body).state, 'approved:none');
  });

  it('is refused, as the gateway says, when it signs the URL it connects to', async () => {
    const { bought } = await buy(await openStore(undefined));
    assert.equal(bought.status, 401);
    assert.match(bought.body, /SIGNATURE_INVALID/);
  });
});
