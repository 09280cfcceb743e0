import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { certificateFingerprint as derFingerprint } from '@sideband/sip/sdp';
import { selfSignedCertificate } from './self-signed-certificate.ts';

/** An endpoint's TLS identity on the call: a self-signed P-256 certificate and its key. */
export interface ChannelIdentity {
  certificatePem: string;
  privateKeyPem: string;
  /** RFC 8122 form: `sha-256 AB:CD:…` — what SDP's a=fingerprint carries and peers register. */
  fingerprint: string;
}

const pemOf = (label: string, der: Uint8Array): string => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** RFC 8122 §5 `sha-256 AB:CD:…` of a PEM certificate (the SDP layer computes it from DER). */
export function certificateFingerprint(certificatePem: string): string {
  const f = derFingerprint(new X509Certificate(certificatePem).raw);
  return `${f.hashFunction} ${f.value}`;
}

/** Generates a fresh identity; the certificate's subject names the endpoint for logs only — trust comes from the registered fingerprint. */
export async function createChannelIdentity(commonName: string, days = 825): Promise<ChannelIdentity> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // A positive 64-bit serial: the first bit cleared so DER needs no sign octet.
  const serialNumber = createHash('sha256').update(commonName + Date.now()).digest().subarray(0, 8);
  serialNumber[0]! &= 0x7f;
  const der = selfSignedCertificate({
    privateKey,
    publicKey,
    commonName,
    serialNumber,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * 86_400_000),
  });
  const certificatePem = pemOf('CERTIFICATE', der);
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { certificatePem, privateKeyPem, fingerprint: certificateFingerprint(certificatePem) };
}

/** Normalises a fingerprint as written by people or other implementations. */
export function normaliseFingerprint(value: string): string {
  const m = /^\s*(sha-256)\s+([0-9a-fA-F:]+)\s*$/i.exec(value);
  if (!m) return value.trim();
  return `sha-256 ${m[2]!.toUpperCase()}`;
}
