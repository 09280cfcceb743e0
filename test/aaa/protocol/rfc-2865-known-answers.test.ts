import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { responseAuthenticator, verifyResponseAuthenticator } from '../../../src/aaa/protocol/response-authenticator.ts';
import { hideUserPassword, recoverUserPassword } from '../../../src/aaa/protocol/user-password.ts';
import { verifyMessageAuthenticator } from '../../../src/aaa/protocol/message-authenticator.ts';
import { packetOf, rfcAccessAccept, rfcAccessRequest, rfcSecret } from './fixtures.ts';

describe('RFC 2865 §7.1 worked example', () => {
  const request = packetOf(rfcAccessRequest);
  const accept = packetOf(rfcAccessAccept);

  it('decodes the Access-Request', () => {
    assert.equal(request.code, 'Access-Request');
    assert.equal(request.identifier, 0);
    assert.equal(request.text('User-Name'), 'nemo');
    assert.equal(request.ipv4('NAS-IP-Address'), '192.168.1.16');
    assert.equal(request.integer('NAS-Port'), 3);
    assert.equal(verifyMessageAuthenticator(request, rfcSecret), 'absent');
  });

  it('recovers the password "arctangent"', () => {
    assert.deepEqual(recoverUserPassword(request.octets('User-Password')!, rfcSecret, request.authenticator), { ok: true, password: 'arctangent' });
  });

  it('hides "arctangent" to the example\'s User-Password octets', () => {
    assert.deepEqual(hideUserPassword('arctangent', rfcSecret, request.authenticator), request.octets('User-Password'));
  });

  it('decodes the Access-Accept', () => {
    assert.equal(accept.code, 'Access-Accept');
    assert.equal(accept.integer('Service-Type'), 1);
    assert.equal(accept.integer('Login-Service'), 0);
    assert.equal(accept.ipv4('Login-IP-Host'), '192.168.1.3');
  });

  it('verifies the Access-Accept\'s Response Authenticator, and computes it', () => {
    assert.ok(verifyResponseAuthenticator(accept, request, rfcSecret));
    assert.deepEqual(responseAuthenticator(accept.raw, request.authenticator, rfcSecret), accept.authenticator);
  });

  it('rejects it under another secret or for another request', () => {
    assert.ok(!verifyResponseAuthenticator(accept, request, 'xyzzy5462'));
    const other = Buffer.from(rfcAccessRequest);
    other[4]! ^= 1;
    assert.ok(!verifyResponseAuthenticator(accept, packetOf(other), rfcSecret));
  });
});
