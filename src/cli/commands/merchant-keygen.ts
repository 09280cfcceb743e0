import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SidebandError } from '../../errors/sideband-error.ts';

export interface MerchantKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
  /** The operator's line that registers the public key: `sideband merchant add-key …`. */
  addKey: string;
}

/** POSIX shell quoting, only where a word needs it. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * A merchant's signing key pair (Ed25519, what the merchant API's RFC 9421 signatures use):
 * `PREFIX-ed25519.pem` (PKCS #8, mode 0600) and `PREFIX-ed25519.pub.pem` (SPKI), and the
 * `add-key` line with which the provider registers the public half. Existing files are
 * never overwritten: a key that signs live purchases must not vanish by a repeated command.
 *
 * @example
 * sideband merchant keygen --out books --key-id books-2026 --merchant mer_01…
 * # wrote books-ed25519.pem and books-ed25519.pub.pem; prints:
 * # sideband merchant add-key mer_01… @books-ed25519.pub.pem --key-id books-2026
 */
export function writeMerchantKeyPair(o: { prefix: string; keyId?: string; merchantId?: string; now?: Date }): MerchantKeyPair {
  const keyId = o.keyId ?? `${basename(o.prefix).replace(/[^\w.:-]/g, '-') || 'merchant'}-${(o.now ?? new Date()).toISOString().slice(0, 10).replace(/-/g, '')}`;
  if (!/^[\w.:-]{1,128}$/.test(keyId)) throw new SidebandError('REQUEST_INVALID', 'A key id is 1 to 128 letters, digits, dots, colons, dashes or underscores.', { param: 'keyId' });
  const privateKeyPath = `${o.prefix}-ed25519.pem`;
  const publicKeyPath = `${o.prefix}-ed25519.pub.pem`;
  const taken = [privateKeyPath, publicKeyPath].find((p) => existsSync(p));
  if (taken) throw new SidebandError('KEY_FILE_EXISTS', `${taken} already exists; nothing was written.`, { param: 'out' });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const write = (path: string, text: string, mode: number) => {
    try {
      // 'wx': created here or not at all, with its mode from the start (no window at 0644).
      writeFileSync(path, text, { mode, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SidebandError('KEY_FILE_EXISTS', `${path} already exists; nothing was overwritten.`, { param: 'out' });
      throw e;
    }
  };
  write(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  write(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  const addKey = ['sideband', 'merchant', 'add-key', o.merchantId ?? 'MERCHANT_ID', `@${publicKeyPath}`, '--key-id', keyId].map(shellWord).join(' ');
  return { privateKeyPath, publicKeyPath, keyId, addKey };
}
