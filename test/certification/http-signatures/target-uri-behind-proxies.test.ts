import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TargetUriResolver, type IncomingTarget } from '../../../src/certification/api/target-uri-resolver.ts';

const request = (headers: IncomingTarget['headers'], peer = '127.0.0.1', url = '/v1/authorizations?limit=5'): IncomingTarget => ({
  protocol: 'http',
  url,
  headers: { host: '10.0.0.5:7443', ...headers },
  socket: { remoteAddress: peer },
});

describe('the @target-uri the gateway verifies, behind a proxy', () => {
  it('without settings: the socket\'s scheme and the Host header, forwarding headers ignored', () => {
    const resolver = new TargetUriResolver();
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pay.isp.example', forwarded: 'proto=https;host=pay.isp.example' })), 'http://10.0.0.5:7443/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ host: undefined })), 'http://localhost/v1/authorizations?limit=5');
  });

  it('publicOrigin: the configured origin and the request target, whatever the proxy says', () => {
    const resolver = new TargetUriResolver({ publicOrigin: 'https://pay.isp.example', trustedProxies: ['127.0.0.1'] });
    assert.equal(resolver.resolve(request({ 'x-forwarded-host': 'evil.example' })), 'https://pay.isp.example/v1/authorizations?limit=5');
  });

  it('a trusted proxy: X-Forwarded-Proto and X-Forwarded-Host, the nearest (rightmost) value of each', () => {
    const resolver = new TargetUriResolver({ trustedProxies: ['127.0.0.0/8', '2001:db8::/32'] });
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pay.isp.example' })), 'https://pay.isp.example/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'spoofed.example, Pay.ISP.example:443' })), 'https://pay.isp.example/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', 'x-forwarded-host': '127.0.0.1:8443' }, '::ffff:127.0.0.1')), 'https://127.0.0.1:8443/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', 'x-forwarded-host': '[2001:db8::7]:8443' }, '2001:db8::1')), 'https://[2001:db8::7]:8443/v1/authorizations?limit=5');
    // Only the scheme forwarded: the Host header the proxy passed on gives the authority.
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', host: 'pay.isp.example' })), 'https://pay.isp.example/v1/authorizations?limit=5');
  });

  it('a trusted proxy: RFC 7239 Forwarded, its last element, quoted values and any case of parameter names', () => {
    const resolver = new TargetUriResolver({ trustedProxies: ['127.0.0.1/32'] });
    assert.equal(resolver.resolve(request({ forwarded: 'for=192.0.2.60;proto=https;host=pay.isp.example' })), 'https://pay.isp.example/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ forwarded: 'for=198.51.100.1;proto=http;host=a.example, for="[2001:db8::1]";Proto=HTTPS;Host="pay.isp.example:8443"' })), 'https://pay.isp.example:8443/v1/authorizations?limit=5');
    // Forwarded wins over X-Forwarded-* when both arrive.
    assert.equal(resolver.resolve(request({ forwarded: 'proto=https;host=pay.isp.example', 'x-forwarded-host': 'other.example' })), 'https://pay.isp.example/v1/authorizations?limit=5');
  });

  it('a peer outside trustedProxies is not believed', () => {
    const resolver = new TargetUriResolver({ trustedProxies: ['192.0.2.0/24'] });
    assert.equal(resolver.resolve(request({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pay.isp.example' })), 'http://10.0.0.5:7443/v1/authorizations?limit=5');
    assert.equal(resolver.resolve(request({ forwarded: 'proto=https;host=pay.isp.example' }, '192.0.3.1')), 'http://10.0.0.5:7443/v1/authorizations?limit=5');
    assert.equal(resolver.resolve({ ...request({ 'x-forwarded-proto': 'https' }), socket: {} }), 'http://10.0.0.5:7443/v1/authorizations?limit=5');
  });

  it('malformed forwarded values fall back to the socket\'s view, never into the URI', () => {
    const resolver = new TargetUriResolver({ trustedProxies: ['127.0.0.1/32'] });
    const socketView = 'http://10.0.0.5:7443/v1/authorizations?limit=5';
    for (const headers of [
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pay.isp.example/evil' },
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'user@pay.isp.example' },
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pay.isp.example:99999' },
      { 'x-forwarded-proto': 'ftp', 'x-forwarded-host': 'pay.isp.example' },
      { forwarded: 'proto=https;host="pay.isp.example' },
      { forwarded: 'proto=https;host=pay.isp.example;;=x' },
      { forwarded: 'proto=https host=pay.isp.example' },
    ]) {
      assert.equal(resolver.resolve(request(headers)), socketView, JSON.stringify(headers));
    }
    // A Forwarded element with neither proto nor host leaves the socket's scheme and the Host header.
    assert.equal(resolver.resolve(request({ forwarded: 'for=192.0.2.60, for=127.0.0.1' })), socketView);
  });

  it('refuses an invalid trustedProxies entry when built', () => {
    assert.throws(() => new TargetUriResolver({ trustedProxies: ['127.0.0.1/8'] }), /host bits/);
  });
});
