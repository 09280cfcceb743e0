import { CompactEncrypt, importSPKI } from 'jose';

/**
 * merchant_bill: what the merchant needs to bill the subscriber itself, released only as
 * a compact JWE (RFC 7516) to the merchant's registered encryption key: ECDH-ES+A256KW for
 * P-256 and X25519 keys, RSA-OAEP-256 for RSA keys, content encrypted with A256GCM.
 */
export async function encryptBillingDetails(details: Record<string, unknown>, publicKeyPem: string, algorithm: string, keyId: string): Promise<string> {
  const alg = algorithm === 'rsa' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  const key = await importSPKI(publicKeyPem, alg);
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(details)))
    .setProtectedHeader({ alg, enc: 'A256GCM', kid: keyId, cty: 'application/json' })
    .encrypt(key);
}
