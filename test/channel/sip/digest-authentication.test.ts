import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator, formatDigestChallenge, parseDigestChallenge, answerDigestChallenge, formatDigestCredentials, parseDigestCredentials, digestResponse } from '@sideband/sip/protocol';
import { ProxyCredentialCache } from '@sideband/sip/user-agent';

describe('Digest known answers', () => {
  it('RFC 2617 §3.5: Mufasa, "Circle Of Life", qop=auth', () => {
    const challenge = parseDigestChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    assert.ok(challenge.ok);
    assert.deepEqual(challenge.value.qop, ['auth', 'auth-int']);
    assert.equal(challenge.value.algorithm, 'MD5');
    const credentials = parseDigestCredentials('Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    assert.ok(credentials.ok);
    const c = credentials.value;
    assert.equal(digestResponse({ algorithm: c.algorithm, username: c.username, realm: c.realm, password: 'Circle Of Life', method: 'GET', uri: c.uri, nonce: c.nonce, qop: 'auth', nc: c.nc!, cnonce: c.cnonce! }), '6629fae49393a05397450978507c4ef1');
  });

  it('RFC 7616 §3.9.1: the same exchange with MD5 and with SHA-256 (RFC 8760 §2.1)', () => {
    const inputs = { username: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth' as const, nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
    assert.equal(digestResponse({ ...inputs, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
    assert.equal(digestResponse({ ...inputs, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('formats credentials that parse back unchanged', () => {
    const c = answerDigestChallenge({ realm: 'sideband', nonce: 'n0', opaque: 'op', algorithm: 'MD5', qop: ['auth'], stale: false }, { method: 'REGISTER', uri: 'sip:192.0.2.1', username: 'shop', password: 'secret-password' });
    const back = parseDigestCredentials(formatDigestCredentials(c));
    assert.deepEqual(back, { ok: true, value: c });
  });

  it('refuses malformed credentials with a specific failure', () => {
    for (const bad of ['Basic dXNlcjpwYXNz', 'Digest username="a"', 'Digest username="a", realm="r", nonce="n", uri="u", response="zz"', 'Digest username="a", realm="r", nonce="n", uri="u", response="00", qop=auth', 'Digest username="a, realm="r"']) {
      assert.equal(parseDigestCredentials(bad).ok, false, bad);
    }
  });
});

describe('Digest challenge and response round trip (RFC 3261 §22)', () => {
  const passwords: Record<string, string> = { shop: 'shop-password' };
  const lookup = (u: string) => passwords[u];
  const request = { method: 'REGISTER', uri: 'sip:192.0.2.1:5060' };

  const answer = (authenticator: DigestAuthenticator, password = 'shop-password', nc = 1) => {
    const challenge = parseDigestChallenge(formatDigestChallenge(authenticator.challenge()));
    assert.ok(challenge.ok);
    return answerDigestChallenge(challenge.value, { ...request, username: 'shop', password, nc });
  };

  it('accepts the right password and names the user', () => {
    const authenticator = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 60_000 });
    assert.deepEqual(authenticator.verify(answer(authenticator), request, lookup), { ok: true, username: 'shop' });
  });

  it('refuses a wrong password, an unknown user, another realm and another URI', () => {
    const authenticator = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 60_000 });
    assert.equal(reason(authenticator.verify(answer(authenticator, 'wrong-password'), request, lookup)), 'response-mismatch');
    assert.equal(reason(authenticator.verify({ ...answer(authenticator), username: 'nobody' }, request, lookup)), 'username-unknown');
    assert.equal(reason(authenticator.verify({ ...answer(authenticator), realm: 'other' }, request, lookup)), 'realm-mismatch');
    assert.equal(reason(authenticator.verify(answer(authenticator), { ...request, uri: 'sip:elsewhere' }, lookup)), 'uri-mismatch');
  });

  it('refuses a nonce it did not issue, and a replayed nonce count', () => {
    const authenticator = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 60_000 });
    const other = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 60_000 });
    assert.equal(reason(authenticator.verify(answer(other), request, lookup)), 'nonce-invalid');
    const once = answer(authenticator);
    assert.equal(authenticator.verify(once, request, lookup).ok, true);
    assert.equal(reason(authenticator.verify(once, request, lookup)), 'nonce-count-replayed');
    const challenge = parseDigestChallenge(formatDigestChallenge(authenticator.challenge()));
    assert.ok(challenge.ok);
    const first = answerDigestChallenge(challenge.value, { ...request, username: 'shop', password: 'shop-password', nc: 1 });
    const second = answerDigestChallenge(challenge.value, { ...request, username: 'shop', password: 'shop-password', nc: 2 });
    assert.equal(authenticator.verify(first, request, lookup).ok, true);
    assert.equal(authenticator.verify(second, request, lookup).ok, true, 'a higher nc on the same nonce is a new request');
  });

  it('answers an expired nonce with stale=true only when the password was right (RFC 2617 §3.2.1)', () => {
    let now = 1_000_000;
    const authenticator = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 30_000, now: () => now });
    const right = answer(authenticator);
    const wrong = answer(authenticator, 'wrong-password');
    now += 31_000;
    assert.deepEqual(authenticator.verify(right, request, lookup), { ok: false, reason: 'nonce-expired', stale: true });
    assert.deepEqual(authenticator.verify(wrong, request, lookup), { ok: false, reason: 'response-mismatch', stale: false });
    assert.match(formatDigestChallenge(authenticator.challenge(true)), /stale=true/);
  });
});

const reason = (v: ReturnType<DigestAuthenticator['verify']>): string => (v.ok ? 'ok' : v.reason);

describe('a line\'s INVITE credentials offered before the challenge (RFC 3261 §22.3)', () => {
  const lookup = (u: string) => (u === 'provider' ? 'provider-password' : undefined);
  const invite = { method: 'INVITE', uri: 'sip:+15550199@192.0.2.1:5060' };
  const account = { username: 'provider', password: 'provider-password' };

  it('answers the last accepted challenge again with a rising nonce count, which the exchange takes once each', () => {
    const authenticator = new DigestAuthenticator({ realm: 'sideband', nonceLifetimeMs: 60_000 });
    const cache = new ProxyCredentialCache();
    assert.equal(cache.next(invite, account), null, 'nothing to offer before a challenge');
    const challenge = parseDigestChallenge(formatDigestChallenge(authenticator.challenge()));
    assert.ok(challenge.ok);
    assert.equal(authenticator.verify(answerDigestChallenge(challenge.value, { ...invite, ...account }), invite, lookup).ok, true);
    cache.answered(challenge.value);
    const second = parseDigestCredentials(cache.next(invite, account)!);
    const third = parseDigestCredentials(cache.next(invite, account)!);
    assert.ok(second.ok && third.ok);
    assert.deepEqual([second.value.nc, third.value.nc], ['00000002', '00000003']);
    assert.equal(authenticator.verify(second.value, invite, lookup).ok, true);
    assert.equal(authenticator.verify(third.value, invite, lookup).ok, true);
    assert.equal(reason(authenticator.verify(third.value, invite, lookup)), 'nonce-count-replayed', 'a replayed unasked INVITE is still refused');
    cache.forget();
    assert.equal(cache.next(invite, account), null, 'refused once, nothing is offered until the next challenge');
  });

  it('never reuses a nonce challenged without qop=auth: there is no count to tell a replay by', () => {
    const cache = new ProxyCredentialCache();
    const challenge = parseDigestChallenge('Digest realm="sideband", nonce="abc", algorithm=MD5');
    assert.ok(challenge.ok);
    cache.answered(challenge.value);
    assert.equal(cache.next(invite, account), null);
  });
});
