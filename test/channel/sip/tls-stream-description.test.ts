import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSessionDescription, answerSetupRole, certificateFingerprint, describeTlsStream, readTlsStream } from '@sideband/sip/sdp';

const fingerprint = { hashFunction: 'sha-256', value: '4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3C:83:48:D4:AF:F8:6E:8B:DA:9A:96:9E' };

describe('SDP for a TLS stream over TCP (RFC 4145, RFC 8122)', () => {
  it('describes an offer that reads back the same', () => {
    const sdp = describeTlsStream({ address: '192.0.2.10', port: 54111, setup: 'actpass', connection: 'new', fingerprints: [fingerprint], format: '*' }, { sessionId: '2890844526' });
    assert.equal(sdp, [
      'v=0',
      'o=- 2890844526 1 IN IP4 192.0.2.10',
      's=-',
      'c=IN IP4 192.0.2.10',
      't=0 0',
      'm=application 54111 TCP/TLS *',
      'a=setup:actpass',
      'a=connection:new',
      `a=fingerprint:sha-256 ${fingerprint.value}`,
      '',
    ].join('\r\n'));
    assert.deepEqual(readTlsStream(sdp), { ok: true, value: { address: '192.0.2.10', port: 54111, setup: 'actpass', connection: 'new', fingerprints: [fingerprint], format: '*' } });
  });

  it('uses IP6 for an IPv6 address and takes session-level attributes and c= when media has none', () => {
    assert.match(describeTlsStream({ address: '2001:db8::7', port: 9, setup: 'active', connection: 'new', fingerprints: [fingerprint], format: '*' }), /c=IN IP6 2001:db8::7/);
    const sdp = `v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\na=fingerprint:SHA-256 ${fingerprint.value.toLowerCase()}\nm=application 4000 TCP/TLS sideband\na=setup:passive\n`;
    const read = readTlsStream(sdp);
    assert.ok(read.ok);
    assert.equal(read.value.setup, 'passive');
    assert.equal(read.value.connection, 'new', 'RFC 4145 §5: absent means new');
    assert.deepEqual(read.value.fingerprints, [fingerprint], 'upper-cased, and the hash name lower-cased');
    assert.equal(read.value.format, 'sideband');
  });

  it('refuses what it cannot use, each with its cause', () => {
    const base = (media: string) => `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n${media}`;
    const cause = (sdp: string) => {
      const r = readTlsStream(sdp);
      return r.ok ? 'ok' : r.cause;
    };
    assert.equal(cause(base('m=audio 4000 RTP/AVP 0\r\n')), 'stream-missing');
    assert.equal(cause(base(`m=application 4000 TCP/TLS *\r\na=fingerprint:sha-256 ${fingerprint.value}\r\n`)), 'setup-invalid');
    assert.equal(cause(base(`m=application 4000 TCP/TLS *\r\na=setup:sideways\r\na=fingerprint:sha-256 ${fingerprint.value}\r\n`)), 'setup-invalid');
    assert.equal(cause(base(`m=application 4000 TCP/TLS *\r\na=setup:active\r\na=connection:maybe\r\na=fingerprint:sha-256 ${fingerprint.value}\r\n`)), 'connection-attribute-invalid');
    assert.equal(cause(base('m=application 4000 TCP/TLS *\r\na=setup:active\r\n')), 'fingerprint-invalid');
    assert.equal(cause(base('m=application 4000 TCP/TLS *\r\na=setup:active\r\na=fingerprint:sha-256 XYZ\r\n')), 'fingerprint-invalid');
    assert.equal(cause('v=0\r\ns=-\r\n'), 'header-invalid');
    assert.equal(cause('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nm=application 4000 TCP/TLS *\r\n'), 'timing-missing');
    assert.equal(cause('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=application 4000 TCP/TLS *\r\n'), 'connection-missing');
    assert.equal(cause('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nx = bad\r\n'), 'line-malformed');
  });

  it('keeps several media and their order', () => {
    const r = parseSessionDescription('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nm=application 4002 TCP/TLS *\r\nc=IN IP4 192.0.2.9\r\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value.media.map((m) => [m.media, m.port, m.connection?.address ?? null]), [['audio', 4000, null], ['application', 4002, '192.0.2.9']]);
  });

  it('answers setup roles per RFC 4145 §4.1 and fingerprints a certificate the RFC 8122 way', () => {
    assert.equal(answerSetupRole('actpass'), 'active');
    assert.equal(answerSetupRole('active'), 'passive');
    assert.equal(answerSetupRole('passive'), 'active');
    const f = certificateFingerprint(Buffer.from('not really DER'));
    assert.equal(f.hashFunction, 'sha-256');
    assert.match(f.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
