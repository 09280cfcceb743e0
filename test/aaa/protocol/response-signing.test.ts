import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeAccessRequest, encodeAccountingRequest, encodeStatusServer } from '../../../src/aaa/protocol/encode-request.ts';
import { encodeResponse } from '../../../src/aaa/protocol/encode-response.ts';
import { verifyMessageAuthenticator } from '../../../src/aaa/protocol/message-authenticator.ts';
import { verifyResponseAuthenticator } from '../../../src/aaa/protocol/response-authenticator.ts';
import { packetOf } from './fixtures.ts';

const secret = 'response-signing-test-secret';

describe('building signed responses', () => {
  const accessRequest = packetOf(encodeAccessRequest({
    identifier: 77,
    secret,
    password: 'pw',
    attributes: [{ name: 'User-Name', value: 'u' }, { name: 'Proxy-State', value: Buffer.from('hop-1') }, { name: 'Proxy-State', value: Buffer.from('hop-2') }],
  }));

  it('answers with the request\'s Identifier, Message-Authenticator first, then the attributes given', () => {
    const response = packetOf(encodeResponse({
      request: accessRequest,
      code: 'Access-Accept',
      secret,
      attributes: [{ name: 'Framed-IP-Address', value: '192.0.2.10' }, { name: 'Reply-Message', value: 'Welcome' }],
    }));
    assert.equal(response.code, 'Access-Accept');
    assert.equal(response.identifier, 77);
    assert.deepEqual(response.attributes.map((a) => a.type), [80, 8, 18, 33, 33]);
    assert.equal(response.ipv4('Framed-IP-Address'), '192.0.2.10');
    assert.ok(verifyResponseAuthenticator(response, accessRequest, secret));
    assert.equal(verifyMessageAuthenticator(response, secret, accessRequest), 'valid');
  });

  it('copies Proxy-State unmodified and in order (RFC 2865 §4.2)', () => {
    const response = packetOf(encodeResponse({ request: accessRequest, code: 'Access-Reject', secret }));
    assert.deepEqual(response.allOctets('Proxy-State').map(String), ['hop-1', 'hop-2']);
  });

  it('signs Accounting-Responses and answers to Status-Server', () => {
    const accounting = packetOf(encodeAccountingRequest({ identifier: 1, secret, attributes: [{ name: 'Acct-Status-Type', value: 'Start' }] }));
    const status = packetOf(encodeStatusServer({ identifier: 2, secret }));
    for (const [request, code] of [[accounting, 'Accounting-Response'], [status, 'Access-Accept'], [status, 'Accounting-Response']] as const) {
      const response = packetOf(encodeResponse({ request, code, secret }));
      assert.ok(verifyResponseAuthenticator(response, request, secret), `${code} to ${request.code}`);
      assert.equal(verifyMessageAuthenticator(response, secret, request), 'valid');
    }
  });

  it('fails verification under another secret', () => {
    const response = packetOf(encodeResponse({ request: accessRequest, code: 'Access-Accept', secret: 'another-secret' }));
    assert.ok(!verifyResponseAuthenticator(response, accessRequest, secret));
    assert.equal(verifyMessageAuthenticator(response, secret, accessRequest), 'invalid');
  });

  it('refuses a response code that does not answer the request', () => {
    assert.throws(() => encodeResponse({ request: accessRequest, code: 'Accounting-Response', secret }), RangeError);
    const accounting = packetOf(encodeAccountingRequest({ identifier: 1, secret }));
    assert.throws(() => encodeResponse({ request: accounting, code: 'Access-Accept', secret }), RangeError);
    const accept = packetOf(encodeResponse({ request: accessRequest, code: 'Access-Accept', secret }));
    assert.throws(() => encodeResponse({ request: accept, code: 'Access-Accept', secret }), RangeError);
  });

  it('refuses a Message-Authenticator or Proxy-State from the caller, which it adds itself', () => {
    assert.throws(() => encodeResponse({ request: accessRequest, code: 'Access-Accept', secret, attributes: [{ name: 'Message-Authenticator', value: Buffer.alloc(16) }] }), RangeError);
    assert.throws(() => encodeResponse({ request: accessRequest, code: 'Access-Accept', secret, attributes: [{ type: 33, value: Buffer.of(1) }] }), RangeError);
  });
});
