import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createChannelIdentity, selfSignedCertificate } from '@sideband/channel';

const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

describe('the channel\'s self-signed certificate, encoded on node:crypto', () => {
  it('is a certificate OpenSSL reads: self-issued, signed by its own key, holding the identity\'s key', async () => {
    const id = await createChannelIdentity('shop.example');
    const cert = new X509Certificate(id.certificatePem);
    assert.equal(cert.subject, 'CN=shop.example');
    assert.equal(cert.issuer, 'CN=shop.example');
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(id.privateKeyPem)));
    assert.ok(cert.checkIssued(cert));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(Date.parse(cert.validFrom) <= Date.now() && Date.parse(cert.validTo) > Date.now() + 800 * 86_400_000);
  });

  it('encodes long names (long-form lengths), a high-bit serial, and dates on both sides of 2050', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const commonName = `${'a'.repeat(150)}, =+<>#;"\\ é`;
    const der = selfSignedCertificate({ privateKey, publicKey, commonName, serialNumber: Buffer.from([0xff, 0, 1]), notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2050-01-01T00:00:00Z') });
    const cert = new X509Certificate(pem(der));
    assert.ok(cert.verify(publicKey));
    // X.690 §8.3: a sign octet keeps it positive.
    assert.ok(der.includes(Buffer.from([0x02, 0x04, 0x00, 0xff, 0x00, 0x01])));
    assert.equal(cert.serialNumber, 'FF0001');
    assert.equal(new Date(cert.validFrom).toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '2050-01-01T00:00:00.000Z');
    assert.ok(cert.subject.includes('a'.repeat(150)));
  });

  it('refuses a key that is not ECDSA P-256', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    assert.throws(() => selfSignedCertificate({ privateKey, publicKey, commonName: 'x', serialNumber: Buffer.from([1]), notBefore: new Date(), notAfter: new Date() }), /P-256/);
  });
});
