import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentDigest, verifyContentDigest } from '@sideband/http-signatures';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const hello = utf8('{"hello": "world"}');

// RFC 9530 (and RFC 9421 Appendix B.2) example digests of `{"hello": "world"}`.
const helloSha256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const helloSha512 = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

describe('Content-Digest: computing', () => {
  it('gives the RFC 9530 sha-256 digest of {"hello": "world"} by default', () => {
    assert.equal(contentDigest(hello), helloSha256);
  });

  it('gives the sha-512 digest when asked', () => {
    assert.equal(contentDigest(hello, 'sha-512'), helloSha512);
  });

  it('digests empty content', () => {
    assert.equal(contentDigest(new Uint8Array(0)), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });
});

describe('Content-Digest: verifying', () => {
  it('accepts the RFC examples, alone or together, in either order', () => {
    for (const value of [helloSha256, helloSha512, `${helloSha256}, ${helloSha512}`, `${helloSha512},${helloSha256}`]) {
      assert.deepEqual(verifyContentDigest(value, hello), { ok: true }, value);
    }
  });

  it('accepts a digest with unpadded base64, which RFC 8941 §4.2.7 says parsers should not refuse', () => {
    assert.deepEqual(verifyContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:', hello), { ok: true });
  });

  it('ignores algorithms it does not support when a supported one matches', () => {
    assert.deepEqual(verifyContentDigest(`md5=:AAAA:, ${helloSha256}, unixsum=:AAAA:`, hello), { ok: true });
  });

  it('ignores parameters on a member', () => {
    assert.deepEqual(verifyContentDigest(`${helloSha256};note="x"`, hello), { ok: true });
  });

  it('refuses an absent or empty field as content-digest-missing', () => {
    assert.deepEqual(verifyContentDigest(undefined, hello), { ok: false, reason: 'content-digest-missing' });
    assert.deepEqual(verifyContentDigest('', hello), { ok: false, reason: 'content-digest-missing' });
    assert.deepEqual(verifyContentDigest('   ', hello), { ok: false, reason: 'content-digest-missing' });
  });

  it('refuses what is not a Dictionary of Byte Sequences as content-digest-malformed', () => {
    for (const value of [
      'sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=',
      'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="',
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=',
      'sha-256=:X48E9qOokqqrvdts8n!JRJN3OWDUoyWxBf7kbu9DBPE=:',
      'sha-256=(:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:)',
      'SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
      `${helloSha256},`,
      `${helloSha256}, md5=1`,
      'sha-256',
      `sha-256=:${'A'.repeat(9000)}:`,
    ]) {
      assert.deepEqual(verifyContentDigest(value, hello), { ok: false, reason: 'content-digest-malformed' }, value);
    }
  });

  it('refuses a field with only unsupported algorithms as content-digest-unsupported', () => {
    assert.deepEqual(verifyContentDigest('md5=:CY9rzUYh03PK3k6DJie09g==:', hello), { ok: false, reason: 'content-digest-unsupported' });
    assert.deepEqual(verifyContentDigest('sha-384=:AAAA:, crc32c=:AAAA:', hello), { ok: false, reason: 'content-digest-unsupported' });
  });

  it('refuses a digest of other content as content-digest-mismatch', () => {
    assert.deepEqual(verifyContentDigest(helloSha256, utf8('{"hello": "world!"}')), { ok: false, reason: 'content-digest-mismatch' });
  });

  it('refuses when any supported digest disagrees, even if another matches', () => {
    const wrong512 = contentDigest(utf8('other'), 'sha-512');
    assert.deepEqual(verifyContentDigest(`${helloSha256}, ${wrong512}`, hello), { ok: false, reason: 'content-digest-mismatch' });
  });

  it('refuses a truncated digest as content-digest-mismatch', () => {
    assert.deepEqual(verifyContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWx:', hello), { ok: false, reason: 'content-digest-mismatch' });
  });
});
