import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SidebandError } from '../errors/sideband-error.ts';

/**
 * Envelope encryption, pure: a fresh 256-bit data key per record encrypts the record with
 * AES-256-GCM, the record id as associated data (so a ciphertext moved to another row
 * fails to open); the data key is itself sealed with AES-256-GCM under a master key, with
 * the record id and master key id as associated data.
 *
 * Sealed form: base64(iv[12] ‖ tag[16] ‖ ciphertext).
 */
const IV = 12;
const TAG = 16;

/** AES-256-GCM under `key`, `aad` bound as associated data; also seals what is not a vault record (web sessions). */
export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Opens what `seal` sealed; VAULT_DECRYPT_FAILED on a wrong key, another `aad` or altered bytes. */
export function open(key: Buffer, sealed: string, aad: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < IV + TAG) throw new SidebandError('VAULT_DECRYPT_FAILED', 'Sealed value is truncated.');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV, IV + TAG));
    return Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]);
  } catch (e) {
    throw new SidebandError('VAULT_DECRYPT_FAILED', 'Authentication failed while opening a vault record: wrong key or altered data.', { cause: e });
  }
}

const wrapAad = (recordId: string, keyId: string): string => `sideband:data-key:${recordId}:${keyId}`;

export interface SealedRecord {
  keyId: string;
  wrappedKey: string;
  ciphertext: string;
}

export function sealRecord(recordId: string, plaintext: Buffer, master: { id: string; key: Buffer }): SealedRecord {
  const dataKey = randomBytes(32);
  try {
    return {
      keyId: master.id,
      wrappedKey: seal(master.key, dataKey, wrapAad(recordId, master.id)),
      ciphertext: seal(dataKey, plaintext, recordId),
    };
  } finally {
    dataKey.fill(0);
  }
}

export function openRecord(recordId: string, record: SealedRecord, masterKey: Buffer): Buffer {
  const dataKey = open(masterKey, record.wrappedKey, wrapAad(recordId, record.keyId));
  try {
    return open(dataKey, record.ciphertext, recordId);
  } finally {
    dataKey.fill(0);
  }
}

/** Re-seals only the data key under another master key; the record's ciphertext is untouched. */
export function rewrapKey(recordId: string, record: SealedRecord, from: Buffer, to: { id: string; key: Buffer }): SealedRecord {
  const dataKey = open(from, record.wrappedKey, wrapAad(recordId, record.keyId));
  try {
    return { keyId: to.id, wrappedKey: seal(to.key, dataKey, wrapAad(recordId, to.id)), ciphertext: record.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}
