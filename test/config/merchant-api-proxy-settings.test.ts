import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import type { SidebandError } from '../../src/errors/sideband-error.ts';

const merchantApi = (settings: Record<string, unknown>) => loadConfig({ env: {}, overrides: { merchantApi: settings } }).merchantApi;
const refused = (settings: Record<string, unknown>, name: RegExp) =>
  assert.throws(() => merchantApi(settings), (e: SidebandError) => e.code === 'CONFIG_INVALID' && name.test(e.message), JSON.stringify(settings));

describe('configuration: the merchant API behind a proxy', () => {
  it('has no public origin and trusts no proxy by default', () => {
    const c = merchantApi({});
    assert.equal(c.publicOrigin, undefined);
    assert.deepEqual(c.trustedProxies, []);
  });

  it('keeps publicOrigin as the WHATWG URL serialises it, which is what the SDK signs', () => {
    assert.equal(merchantApi({ publicOrigin: 'https://pay.isp.example' }).publicOrigin, 'https://pay.isp.example');
    assert.equal(merchantApi({ publicOrigin: 'HTTPS://Pay.ISP.example:443/' }).publicOrigin, 'https://pay.isp.example');
    assert.equal(merchantApi({ publicOrigin: 'http://127.0.0.1:8080' }).publicOrigin, 'http://127.0.0.1:8080');
    assert.equal(loadConfig({ env: { SIDEBAND_MERCHANT_PUBLIC_ORIGIN: 'https://[2001:db8::1]:8443' } }).merchantApi.publicOrigin, 'https://[2001:db8::1]:8443');
  });

  it('refuses a publicOrigin that is not http(s) and an authority alone, naming the setting', () => {
    for (const publicOrigin of ['pay.isp.example', 'ftp://pay.isp.example', 'https://pay.isp.example/v1', 'https://pay.isp.example?x=1', 'https://pay.isp.example/#top', 'https://user@pay.isp.example', 'https://pay.isp.example:99999', 'https://', '']) {
      refused({ publicOrigin }, /merchantApi\.publicOrigin: .*give an origin such as https:\/\/pay\.isp\.example/);
    }
  });

  it('keeps trustedProxies as canonical CIDRs and refuses what is not one, naming the entry', () => {
    assert.deepEqual(merchantApi({ trustedProxies: ['10.0.0.0/8', '127.0.0.1', '2001:DB8::/32'] }).trustedProxies, ['10.0.0.0/8', '127.0.0.1/32', '2001:db8::/32']);
    refused({ trustedProxies: ['10.0.0.1/8'] }, /merchantApi\.trustedProxies\.0: .*host bits/);
    refused({ trustedProxies: ['127.0.0.1/32', 'proxy.internal'] }, /merchantApi\.trustedProxies\.1: "proxy\.internal" is not an address range/);
    refused({ trustedProxies: '127.0.0.1/32' }, /merchantApi\.trustedProxies/);
  });
});
