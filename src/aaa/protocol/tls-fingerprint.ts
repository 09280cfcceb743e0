import { SidebandError } from '../../errors/sideband-error.ts';

/**
 * A certificate's SHA-256 fingerprint as Sideband keeps it: 64 lowercase hex digits. It
 * accepts what operators paste — `openssl x509 -noout -fingerprint -sha256` prints
 * `sha256 Fingerprint=AB:CD:…`, Node's `fingerprint256` prints `AB:CD:…`.
 *
 * @example
 * normaliseTlsFingerprint('SHA256 Fingerprint=AB:CD:…'); // 'abcd…'
 */
export function normaliseTlsFingerprint(input: string): string {
  const hex = input.trim().replace(/^sha-?256( fingerprint)?\s*[=:]\s*/i, '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new SidebandError('NAS_TLS_FINGERPRINT_INVALID', 'A certificate fingerprint is its SHA-256 digest: 64 hex digits, colons allowed (`openssl x509 -in nas.pem -noout -fingerprint -sha256`).', { param: 'tlsFingerprint' });
  }
  return hex;
}
