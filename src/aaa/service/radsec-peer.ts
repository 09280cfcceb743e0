import type { TLSSocket } from 'node:tls';
import { cidrContains } from '../../core/network/cidr.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { normaliseTlsFingerprint } from '../protocol/tls-fingerprint.ts';
import type { NasClient } from './nas-directory.ts';

/** What a RadSec client's certificate says, as far as telling which NAS it is goes. */
export interface PresentedCertificate {
  /** SHA-256 of the DER certificate, 64 lowercase hex digits. */
  fingerprint: string;
  /** subjectAltName DNS names, else the subject CN; lowercase. */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** TLS verified its chain to the configured CA. */
  issuedByCa: boolean;
  subject: string;
}

export type RadsecRefusal = 'certificate-missing' | 'certificate-expired' | 'certificate-unregistered' | 'address-mismatch';

export const refusalCodes: Record<RadsecRefusal, ErrorCode> = {
  'certificate-missing': 'RADSEC_CERTIFICATE_UNREGISTERED',
  'certificate-unregistered': 'RADSEC_CERTIFICATE_UNREGISTERED',
  'certificate-expired': 'RADSEC_CERTIFICATE_EXPIRED',
  'address-mismatch': 'RADSEC_ADDRESS_MISMATCH',
};

export type RadsecPeer = { ok: true; nas: NasClient; by: 'fingerprint' | 'name' } | { ok: false; refusal: RadsecRefusal; nas: string | null };

/** The peer certificate of a finished handshake, or null when the client sent none. */
export function presentedCertificate(socket: TLSSocket): PresentedCertificate | null {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return null;
  const dns = (cert.subjectaltname ?? '').split(/,\s*/).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4).toLowerCase());
  const cn = cert.subject?.CN;
  const names = dns.length > 0 ? dns : typeof cn === 'string' ? [cn.toLowerCase()] : [];
  return {
    fingerprint: normaliseTlsFingerprint(cert.fingerprint256), names, notBefore: new Date(cert.valid_from), notAfter: new Date(cert.valid_to),
    issuedByCa: socket.authorized, subject: Object.entries(cert.subject ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
  };
}

/**
 * Which registered NAS a RadSec client is (RFC 6614 §2.3: mutual authentication, the
 * server "MUST … verify the client's identity"). A certificate identifies a NAS by its
 * SHA-256 fingerprint (`--tls-fingerprint`: any issuer, self-signed included), or, when
 * the configured CA issued it, by a subjectAltName DNS name (else CN) equal to the NAS's
 * `--tls-name`. Its validity dates are checked here for both, since a pinned self-signed
 * certificate is not checked by a chain. The connection must also come from the NAS's
 * registered range: a stolen certificate alone is not enough.
 */
export function identifyRadsecPeer(cert: PresentedCertificate | null, source: string, clients: readonly NasClient[], now: Date): RadsecPeer {
  if (!cert) return { ok: false, refusal: 'certificate-missing', nas: null };
  const byFingerprint = clients.find((c) => c.tlsFingerprint === cert.fingerprint);
  const byName = cert.issuedByCa ? clients.find((c) => c.tlsName !== null && cert.names.includes(c.tlsName)) : undefined;
  const nas = byFingerprint ?? byName;
  if (now < cert.notBefore || now > cert.notAfter) return { ok: false, refusal: 'certificate-expired', nas: nas?.name ?? null };
  if (!nas) return { ok: false, refusal: 'certificate-unregistered', nas: null };
  if (!cidrContains(nas.range, source)) return { ok: false, refusal: 'address-mismatch', nas: nas.name };
  return { ok: true, nas, by: byFingerprint ? 'fingerprint' : 'name' };
}
