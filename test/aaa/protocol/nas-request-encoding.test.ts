import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyAccountingRequestAuthenticator } from '../../../src/aaa/protocol/accounting-request-authenticator.ts';
import { verifyChapPassword } from '../../../src/aaa/protocol/chap-password.ts';
import { encodeAccessRequest, encodeAccountingRequest, encodeStatusServer } from '../../../src/aaa/protocol/encode-request.ts';
import { verifyMessageAuthenticator } from '../../../src/aaa/protocol/message-authenticator.ts';
import { recoverUserPassword } from '../../../src/aaa/protocol/user-password.ts';
import { packetOf } from './fixtures.ts';

const secret = 'nas-request-test-secret';

describe('requests built as a NAS builds them', () => {
  it('signs an Access-Request with Message-Authenticator first and hides the password', () => {
    const request = packetOf(encodeAccessRequest({ identifier: 10, secret, password: 'correct horse', attributes: [{ name: 'User-Name', value: 'alice' }, { name: 'NAS-Port-Type', value: 'Ethernet' }] }));
    assert.deepEqual(request.attributes.map((a) => a.type), [80, 1, 61, 2]);
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assert.deepEqual(recoverUserPassword(request.octets('User-Password')!, secret, request.authenticator), { ok: true, password: 'correct horse' });
  });

  it('draws a fresh Request Authenticator for each Access-Request (RFC 2865 §3)', () => {
    const a = packetOf(encodeAccessRequest({ identifier: 1, secret }));
    const b = packetOf(encodeAccessRequest({ identifier: 1, secret }));
    assert.notDeepEqual(a.authenticator, b.authenticator);
  });

  it('builds CHAP over the Request Authenticator when no challenge is given', () => {
    const request = packetOf(encodeAccessRequest({ identifier: 11, secret, chap: { password: 'pw', ident: 3 } }));
    assert.equal(request.has('CHAP-Challenge'), false);
    assert.equal(verifyChapPassword(request, 'pw'), 'valid');
  });

  it('leaves Message-Authenticator out when asked', () => {
    const request = packetOf(encodeAccessRequest({ identifier: 12, secret, messageAuthenticator: false }));
    assert.equal(verifyMessageAuthenticator(request, secret), 'absent');
    const accounting = packetOf(encodeAccountingRequest({ identifier: 13, secret, messageAuthenticator: false }));
    assert.equal(verifyMessageAuthenticator(accounting, secret), 'absent');
    assert.ok(verifyAccountingRequestAuthenticator(accounting, secret));
  });

  it('computes an Accounting-Request\'s Request Authenticator over its Message-Authenticator', () => {
    const request = packetOf(encodeAccountingRequest({ identifier: 14, secret, attributes: [{ name: 'Acct-Status-Type', value: 'Interim-Update' }] }));
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assert.ok(verifyAccountingRequestAuthenticator(request, secret));
  });

  it('always signs Status-Server', () => {
    const request = packetOf(encodeStatusServer({ identifier: 15, secret }));
    assert.equal(request.code, 'Status-Server');
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
  });
});
