import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hideUserPassword, recoverUserPassword } from '../../../src/aaa/protocol/user-password.ts';
import { capturedPapRequest, capturedSecret, packetOf } from './fixtures.ts';

const secret = 'user-password-test-secret';
const authenticator = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('User-Password hiding (RFC 2865 §5.2)', () => {
  it('recovers what radclient hid', () => {
    const request = packetOf(capturedPapRequest);
    assert.deepEqual(recoverUserPassword(request.octets('User-Password')!, capturedSecret, request.authenticator), { ok: true, password: 'pap-pass-123' });
  });

  it('pads to a multiple of 16 octets, at least 16', () => {
    assert.equal(hideUserPassword('', secret, authenticator).length, 16);
    assert.equal(hideUserPassword('a'.repeat(16), secret, authenticator).length, 16);
    assert.equal(hideUserPassword('a'.repeat(17), secret, authenticator).length, 32);
    assert.equal(hideUserPassword('a'.repeat(128), secret, authenticator).length, 128);
    assert.throws(() => hideUserPassword('a'.repeat(129), secret, authenticator), RangeError);
  });

  it('chains blocks: a change in the first block changes every block after it', () => {
    const a = hideUserPassword('a'.repeat(40), secret, authenticator);
    const b = hideUserPassword(`b${'a'.repeat(39)}`, secret, authenticator);
    for (let block = 0; block < 3; block++) assert.notDeepEqual(a.subarray(block * 16, block * 16 + 16), b.subarray(block * 16, block * 16 + 16));
  });

  it('round-trips any password of 1 to 128 octets without NULs, under any secret and authenticator', () => {
    const password = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 32 }).filter((p) => !p.includes('\0') && Buffer.byteLength(p) <= 128);
    fc.assert(fc.property(password, fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (p, s, ra) => {
      const authenticator = Buffer.from(ra);
      assert.deepEqual(recoverUserPassword(hideUserPassword(p, s, authenticator), s, authenticator), { ok: true, password: p });
    }), { numRuns: 500 });
  });

  it('strips trailing NULs only', () => {
    const hidden = hideUserPassword(Buffer.from('a\0b\0\0', 'latin1'), secret, authenticator);
    assert.deepEqual(recoverUserPassword(hidden, secret, authenticator), { ok: true, password: 'a\0b' });
  });

  it('refuses values whose length is not 16 to 128 in steps of 16', () => {
    for (const length of [0, 1, 15, 17, 31, 136, 144, 253]) {
      assert.deepEqual(recoverUserPassword(randomBytes(length), secret, authenticator), { ok: false, cause: 'length-invalid' }, `${length} octets`);
    }
    for (const length of [16, 32, 128]) assert.ok(recoverUserPassword(randomBytes(length), secret, authenticator).ok);
  });

  it('yields a different password, not an error, under the wrong secret', () => {
    const result = recoverUserPassword(hideUserPassword('correct horse', secret, authenticator), `${secret}!`, authenticator);
    assert.ok(result.ok);
    assert.notEqual(result.password, 'correct horse');
  });
});
