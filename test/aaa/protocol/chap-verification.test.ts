import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { chapChallenge, encodeChapPassword, verifyChapPassword } from '../../../src/aaa/protocol/chap-password.ts';
import { encodeAccessRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { encodePacket } from '../../../src/aaa/wire/encode-packet.ts';
import { capturedChapRequest, packetOf } from './fixtures.ts';

const secret = 'chap-test-secret';

describe('CHAP-Password verification (RFC 2865 §5.3, RFC 1994 §4.1)', () => {
  it('verifies what radclient computed over the Request Authenticator', () => {
    const request = packetOf(capturedChapRequest);
    assert.equal(request.has('CHAP-Challenge'), false);
    assert.equal(verifyChapPassword(request, 'chap-pass-123'), 'valid');
    assert.equal(verifyChapPassword(request, 'chap-pass-124'), 'invalid');
  });

  it('computes MD5(ident + password + challenge)', () => {
    const challenge = Buffer.from('0123456789abcdef0123', 'hex');
    const value = encodeChapPassword(0x5a, 'pw', challenge);
    assert.equal(value[0], 0x5a);
    assert.deepEqual(value.subarray(1), createHash('md5').update(Buffer.concat([Buffer.of(0x5a), Buffer.from('pw'), challenge])).digest());
  });

  it('uses CHAP-Challenge when present, of any length', () => {
    for (const challenge of [Buffer.alloc(8, 3), Buffer.alloc(16, 4), Buffer.alloc(40, 5)]) {
      const request = packetOf(encodeAccessRequest({ identifier: 1, secret, chap: { password: 'secret words', ident: 7, challenge }, attributes: [{ name: 'User-Name', value: 'u' }] }));
      assert.deepEqual(chapChallenge(request), challenge);
      assert.equal(verifyChapPassword(request, 'secret words'), 'valid');
      assert.equal(verifyChapPassword(request, 'secret word'), 'invalid');
    }
  });

  it('does not fall back to the Request Authenticator when CHAP-Challenge is present', () => {
    const authenticator = Buffer.alloc(16, 9);
    const packet = encodePacket({
      code: 'Access-Request',
      identifier: 1,
      authenticator,
      attributes: [{ name: 'CHAP-Password', value: encodeChapPassword(1, 'pw', authenticator) }, { name: 'CHAP-Challenge', value: Buffer.alloc(16, 8) }],
    });
    assert.equal(verifyChapPassword(packetOf(packet), 'pw'), 'invalid');
  });

  it('tells absent and malformed CHAP-Password apart from a wrong one', () => {
    const absent = encodePacket({ code: 'Access-Request', identifier: 1, attributes: [{ name: 'User-Name', value: 'u' }] });
    assert.equal(verifyChapPassword(packetOf(absent), 'pw'), 'absent');
    for (const value of [Buffer.alloc(16), Buffer.alloc(18), Buffer.alloc(1)]) {
      const malformed = encodePacket({ code: 'Access-Request', identifier: 1, attributes: [{ name: 'CHAP-Password', value }] });
      assert.equal(verifyChapPassword(packetOf(malformed), 'pw'), 'malformed', `${value.length} octets`);
    }
    const authenticator = Buffer.alloc(16, 1);
    const good = encodeChapPassword(1, 'pw', authenticator);
    const twice = encodePacket({ code: 'Access-Request', identifier: 1, authenticator, attributes: [{ name: 'CHAP-Password', value: good }, { name: 'CHAP-Password', value: good }] });
    assert.equal(verifyChapPassword(packetOf(twice), 'pw'), 'malformed');
  });
});
