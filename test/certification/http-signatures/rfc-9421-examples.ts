import { createPrivateKey, createPublicKey } from 'node:crypto';

// RFC 9421 Appendix B.1.4: test-key-ed25519. A published test key: never register it.
export const testKeyEd25519Private = createPrivateKey(
  ['-----BEGIN PRIVATE KEY-----', 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF', '-----END PRIVATE KEY-----', ''].join('\n'),
);
export const testKeyEd25519Public = createPublicKey(
  ['-----BEGIN PUBLIC KEY-----', 'MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=', '-----END PUBLIC KEY-----', ''].join('\n'),
);

// RFC 9421 Appendix B.2: the example request, `POST /foo?param=Value&Pet=dog` to example.com.
export const exampleRequest = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    Host: 'example.com',
    Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'Content-Type': 'application/json',
    'Content-Digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'Content-Length': '18',
  },
  body: '{"hello": "world"}',
} as const;

// RFC 9421 Appendix B.2.6: Signing a Request Using ed25519.
export const b26 = {
  label: 'sig-b26',
  components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
  created: 1618884473,
  keyid: 'test-key-ed25519',
  signatureBase: [
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@authority": example.com',
    '"content-type": application/json',
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  ].join('\n'),
  signatureInput: 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
} as const;

// RFC 9421 §2.5: the example signature base over the same request (signed there with
// test-key-rsa-pss; the base itself does not depend on the algorithm).
export const section25 = {
  components: ['@method', '@authority', '@path', 'content-digest', 'content-length', 'content-type'],
  created: 1618884473,
  keyid: 'test-key-rsa-pss',
  signatureBase: [
    '"@method": POST',
    '"@authority": example.com',
    '"@path": /foo',
    '"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    '"content-length": 18',
    '"content-type": application/json',
    '"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"',
  ].join('\n'),
} as const;
