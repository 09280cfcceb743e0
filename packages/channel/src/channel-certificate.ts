import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { certificateFingerprint as derFingerprint } from '@sideband/sip/sdp';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** An endpoint's TLS identity on the call: a self-signed P-256 certificate and its key. */
export interface ChannelIdentity {
  certificatePem: string;
  privateKeyPem: string;
  /** RFC 8122 form: `sha-256 AB:CD:…` — what SDP's a=fingerprint carries and peers register. */
  fingerprint: string;
}

const pemOf = (label: string, der: ArrayBuffer): string => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** RFC 8122 §5 `sha-256 AB:CD:…` of a PEM certificate (the SDP layer computes it from DER). */
export function certificateFingerprint(certificatePem: string): string {
  const f = derFingerprint(new X509Certificate(certificatePem).raw);
  return `${f.hashFunction} ${f.value}`;
}

/** Generates a fresh identity; the certificate's subject names the endpoint for logs only — trust comes from the registered fingerprint. */
export async function createChannelIdentity(commonName: string, days = 825): Promise<ChannelIdentity> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: createHash('sha256').update(commonName + Date.now()).digest('hex').slice(0, 16),
    name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * 86_400_000),
    signingAlgorithm: alg,
    keys,
  });
  const certificatePem = cert.toString('pem');
  const privateKeyPem = pemOf('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certificatePem, privateKeyPem, fingerprint: certificateFingerprint(certificatePem) };
}

/** Normalises a fingerprint as written by people or other implementations. */
export function normaliseFingerprint(value: string): string {
  const m = /^\s*(sha-256)\s+([0-9a-fA-F:]+)\s*$/i.exec(value);
  if (!m) return value.trim();
  return `sha-256 ${m[2]!.toUpperCase()}`;
}
