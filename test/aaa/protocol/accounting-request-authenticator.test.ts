import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { accountingRequestAuthenticator, verifyAccountingRequestAuthenticator } from '../../../src/aaa/protocol/accounting-request-authenticator.ts';
import { encodeAccountingRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { capturedAccountingRequest, capturedSecret, packetOf } from './fixtures.ts';

describe('Accounting-Request authenticator (RFC 2866 §3)', () => {
  it('verifies what radclient sent', () => {
    assert.ok(verifyAccountingRequestAuthenticator(packetOf(capturedAccountingRequest), capturedSecret));
    assert.ok(!verifyAccountingRequestAuthenticator(packetOf(capturedAccountingRequest), `${capturedSecret}x`));
  });

  it('is MD5(Code + Identifier + Length + 16 zero octets + attributes + secret)', () => {
    const zeroed = Buffer.from(capturedAccountingRequest).fill(0, 4, 20);
    assert.deepEqual(accountingRequestAuthenticator(capturedAccountingRequest, capturedSecret), createHash('md5').update(zeroed).update(capturedSecret).digest());
  });

  it('finds any altered octet', () => {
    const secret = 'accounting-test-secret';
    const request = encodeAccountingRequest({ identifier: 8, secret, attributes: [{ name: 'Acct-Status-Type', value: 'Stop' }, { name: 'Acct-Input-Octets', value: 1000 }] });
    assert.ok(verifyAccountingRequestAuthenticator(packetOf(request), secret));
    // Octets whose change would stop the packet framing (Code, Length, attribute Lengths) are left alone.
    const framing = new Set([0, 2, 3]);
    for (let at = 20; at < request.length; at += request[at + 1]!) framing.add(at + 1);
    for (let at = 0; at < request.length; at++) {
      if (framing.has(at)) continue;
      const altered = Buffer.from(request);
      altered[at]! ^= 0x80;
      assert.ok(!verifyAccountingRequestAuthenticator(packetOf(altered), secret), `octet ${at}`);
    }
  });
});
