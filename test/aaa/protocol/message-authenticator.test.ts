import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeAccessRequest, encodeAccountingRequest, encodeStatusServer } from '../../../src/aaa/protocol/encode-request.ts';
import { encodeResponse } from '../../../src/aaa/protocol/encode-response.ts';
import { messageAuthenticator, verifyMessageAuthenticator } from '../../../src/aaa/protocol/message-authenticator.ts';
import { encodePacket } from '../../../src/aaa/wire/encode-packet.ts';
import { capturedAccountingRequest, capturedChapRequest, capturedPapRequest, capturedSecret, packetOf } from './fixtures.ts';

const secret = 'message-authenticator-test-secret';

/** Flips one bit of octet `at` in a copy of `buf`. */
function tampered(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  copy[at]! ^= 0x01;
  return copy;
}

describe('Message-Authenticator in requests (RFC 3579 §3.2)', () => {
  it('accepts what radclient signed, in Access-Requests and in an Accounting-Request', () => {
    for (const buf of [capturedPapRequest, capturedChapRequest, capturedAccountingRequest]) {
      assert.equal(verifyMessageAuthenticator(packetOf(buf), capturedSecret), 'valid');
    }
  });

  it('computes an Access-Request\'s over the Request Authenticator as sent', () => {
    const packet = packetOf(capturedPapRequest);
    const at = packet.offsetOf(80) + 2;
    const zeroed = Buffer.from(packet.raw).fill(0, at, at + 16);
    assert.deepEqual(messageAuthenticator(packet.raw, at, capturedSecret), createHmac('md5', capturedSecret).update(zeroed).digest());
  });

  it('computes an Accounting-Request\'s over a zeroed Authenticator field, as FreeRADIUS does', () => {
    const packet = packetOf(capturedAccountingRequest);
    const at = packet.offsetOf(80) + 2;
    const zeroed = Buffer.from(packet.raw).fill(0, at, at + 16).fill(0, 4, 20);
    assert.deepEqual(packet.raw.subarray(at, at + 16), createHmac('md5', capturedSecret).update(zeroed).digest());
  });

  it('reports absence', () => {
    const request = encodeAccessRequest({ identifier: 1, secret, password: 'pw', messageAuthenticator: false, attributes: [{ name: 'User-Name', value: 'u' }] });
    assert.equal(verifyMessageAuthenticator(packetOf(request), secret), 'absent');
  });

  it('finds any change to the packet, or a wrong secret, invalid', () => {
    const request = encodeAccessRequest({ identifier: 1, secret, password: 'pw', attributes: [{ name: 'User-Name', value: 'user' }] });
    assert.equal(verifyMessageAuthenticator(packetOf(request), secret), 'valid');
    assert.equal(verifyMessageAuthenticator(packetOf(request), `${secret}x`), 'invalid');
    for (const at of [1, 4, 19, 22, 37, 38, 40, request.length - 1]) {
      assert.equal(verifyMessageAuthenticator(packetOf(tampered(request, at)), secret), 'invalid', `octet ${at}`);
    }
  });

  it('finds two Message-Authenticators invalid, even when the first is right', () => {
    const packet = encodePacket({
      code: 'Access-Request',
      identifier: 5,
      authenticator: Buffer.alloc(16, 7),
      attributes: [{ name: 'Message-Authenticator', value: Buffer.alloc(16) }, { name: 'User-Name', value: 'u' }, { name: 'Message-Authenticator', value: Buffer.alloc(16) }],
    });
    messageAuthenticator(packet, 22, secret).copy(packet, 22);
    assert.equal(verifyMessageAuthenticator(packetOf(packet), secret), 'invalid');
  });

  it('finds a Message-Authenticator of the wrong length invalid', () => {
    for (const length of [0, 15, 17]) {
      const packet = encodePacket({ code: 'Access-Request', identifier: 5, attributes: [{ type: 80, value: Buffer.alloc(length) }] });
      assert.equal(verifyMessageAuthenticator(packetOf(packet), secret), 'invalid');
    }
  });

  it('signs and checks Status-Server like an Access-Request (RFC 5997 §3)', () => {
    const status = packetOf(encodeStatusServer({ identifier: 9, secret }));
    assert.equal(status.offsetOf(80), 20);
    assert.equal(verifyMessageAuthenticator(status, secret), 'valid');
  });

  it('signs our own Accounting-Requests as radclient does', () => {
    const request = encodeAccountingRequest({ identifier: 2, secret, attributes: [{ name: 'Acct-Status-Type', value: 'Stop' }] });
    assert.equal(verifyMessageAuthenticator(packetOf(request), secret), 'valid');
  });
});

describe('Message-Authenticator in responses', () => {
  const accessRequest = packetOf(encodeAccessRequest({ identifier: 3, secret, password: 'pw', attributes: [{ name: 'User-Name', value: 'u' }] }));
  const accountingRequest = packetOf(encodeAccountingRequest({ identifier: 4, secret, attributes: [{ name: 'Acct-Status-Type', value: 'Start' }] }));
  const statusServer = packetOf(encodeStatusServer({ identifier: 5, secret }));

  it('uses the request\'s Authenticator for Access-* responses and for answers to Status-Server', () => {
    for (const [request, code] of [[accessRequest, 'Access-Reject'], [statusServer, 'Access-Accept'], [statusServer, 'Accounting-Response']] as const) {
      const response = packetOf(encodeResponse({ request, code, secret }));
      const zeroed = Buffer.from(response.raw).fill(0, 22, 38);
      request.authenticator.copy(zeroed, 4);
      assert.deepEqual(response.octets('Message-Authenticator'), createHmac('md5', secret).update(zeroed).digest(), `${code} to ${request.code}`);
      assert.equal(verifyMessageAuthenticator(response, secret, request), 'valid');
    }
  });

  it('zeroes the Authenticator field for an Accounting-Response to an Accounting-Request, as FreeRADIUS does', () => {
    const response = packetOf(encodeResponse({ request: accountingRequest, code: 'Accounting-Response', secret }));
    const zeroed = Buffer.from(response.raw).fill(0, 4, 20).fill(0, 22, 38);
    assert.deepEqual(response.octets('Message-Authenticator'), createHmac('md5', secret).update(zeroed).digest());
    assert.equal(verifyMessageAuthenticator(response, secret, accountingRequest), 'valid');
  });

  it('cannot check a response without the request it answers', () => {
    const response = packetOf(encodeResponse({ request: accessRequest, code: 'Access-Accept', secret }));
    assert.equal(verifyMessageAuthenticator(response, secret), 'invalid');
    assert.equal(verifyMessageAuthenticator(response, secret, statusServer), 'invalid');
  });
});
