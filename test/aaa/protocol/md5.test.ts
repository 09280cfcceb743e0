import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HmacMd5Key, hmacMd5Key, Md5 } from '../../../src/aaa/protocol/md5.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A message and where to cut it into the pieces fed to `update` and `zeros`. */
const pieces = fc.array(fc.oneof(fc.uint8Array({ maxLength: 150 }), fc.nat({ max: 80 })), { maxLength: 8 });

/** Feeds the pieces (a number: that many zeros) to ours and node's alike. */
function feed(ours: Md5, theirs: { update(b: Uint8Array): unknown }, parts: Array<Uint8Array | number>): void {
  for (const part of parts) {
    if (typeof part === 'number') {
      ours.zeros(part);
      theirs.update(new Uint8Array(part));
    } else {
      // Through a window of a larger buffer, as the protocol code feeds parts of a packet.
      const framed = new Uint8Array(part.length + 7);
      framed.set(part, 3);
      ours.update(framed, 3, 3 + part.length);
      theirs.update(part);
    }
  }
}

describe('MD5 and HMAC-MD5 for RADIUS', () => {
  it('gives RFC 1321 §A.5\'s test suite', () => {
    const suite: Array<[string, string]> = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [text, digest] of suite) assert.equal(hex(new Md5().update(Buffer.from(text, 'latin1')).digest()), digest, JSON.stringify(text));
  });

  it('gives RFC 2104\'s HMAC-MD5 test vectors (its Appendix, and RFC 2202 §2 for a key longer than a block)', () => {
    const vectors: Array<[Buffer, Buffer, string]> = [
      [Buffer.alloc(16, 0x0b), Buffer.from('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
      [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
      [Buffer.alloc(16, 0xaa), Buffer.alloc(50, 0xdd), '56be34521d144c88dbb8c733f0e8b3f6'],
      [Buffer.alloc(80, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'],
    ];
    for (const [key, data, mac] of vectors) {
      const k = new HmacMd5Key(key);
      const out = new Uint8Array(16);
      k.finishInto(k.start(new Md5()).update(data), out, 0);
      assert.equal(hex(out), mac);
    }
  });

  it('agrees with node:crypto\'s MD5 over any message fed in any pieces', () => {
    fc.assert(fc.property(pieces, (parts) => {
      const ours = new Md5();
      const theirs = createHash('md5');
      feed(ours, theirs, parts);
      assert.equal(hex(ours.digest()), theirs.digest('hex'));
    }), { numRuns: 2000 });
  });

  it('agrees with node:crypto\'s HMAC-MD5 under any key, reusing one computation and one key for message after message', () => {
    const hash = new Md5();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(pieces, { minLength: 1, maxLength: 3 }), (key, messages) => {
      const k = new HmacMd5Key(key);
      for (const parts of messages) {
        const theirs = createHmac('md5', key);
        feed(k.start(hash), theirs, parts);
        const out = new Uint8Array(20);
        k.finishInto(hash, out, 2);
        assert.equal(hex(out.subarray(2, 18)), theirs.digest('hex'));
      }
    }), { numRuns: 1000 });
  });

  it('continues from a saved state as if fed again what the state was fed', () => {
    fc.assert(fc.property(pieces, pieces, (before, after) => {
      const saved = new Md5();
      const theirs = createHash('md5');
      feed(saved, theirs, before);
      const resumed = new Md5().update(Buffer.from('something else entirely')).resume(saved);
      feed(resumed, theirs, after);
      assert.equal(hex(resumed.digest()), theirs.digest('hex'));
    }), { numRuns: 1000 });
  });

  it('refuses a window outside its input and a negative count of zeros, which would hash octets that are not there', () => {
    const bytes = new Uint8Array(20);
    assert.throws(() => new Md5().update(bytes, 0, 21), RangeError);
    assert.throws(() => new Md5().update(bytes, 5, 4), RangeError);
    assert.throws(() => new Md5().update(bytes, -1, 4), RangeError);
    assert.throws(() => new Md5().zeros(-1), RangeError);
    assert.equal(hex(new Md5().update(bytes, 20, 20).digest()), createHash('md5').digest('hex'));
  });

  it('makes a secret Buffer\'s key again when its octets change', () => {
    const secret = Buffer.from('mutable-secret-123');
    const mac = () => {
      const k = hmacMd5Key(secret);
      const o = new Uint8Array(16);
      k.finishInto(k.start(new Md5()).update(Buffer.from('packet')), o, 0);
      return hex(o);
    };
    assert.equal(mac(), createHmac('md5', secret).update('packet').digest('hex'));
    secret.write('XXXXXX', 0);
    assert.equal(mac(), createHmac('md5', secret).update('packet').digest('hex'));
  });

  it('keeps one key per secret Buffer, and takes a string secret as its UTF-8', () => {
    const secret = Buffer.from('nas-secret-ü');
    assert.equal(hmacMd5Key(secret), hmacMd5Key(secret));
    const out = (k: HmacMd5Key) => {
      const o = new Uint8Array(16);
      k.finishInto(k.start(new Md5()).update(Buffer.from('packet')), o, 0);
      return hex(o);
    };
    assert.equal(out(hmacMd5Key('nas-secret-ü')), out(hmacMd5Key(secret)));
    assert.equal(out(hmacMd5Key(secret)), createHmac('md5', secret).update('packet').digest('hex'));
  });
});
