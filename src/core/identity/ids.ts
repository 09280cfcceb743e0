import { randomBytes } from 'node:crypto';

/**
 * Ids are a kind prefix and a time-ordered random part (48-bit ms time + 80 random bits,
 * Crockford base32, as ULID), so that rows sort by creation in both databases and an id
 * says what it names: `sub_…`, `mer_…`, `ses_…`.
 */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdKind = 'sub' | 'card' | 'vr' | 'nas' | 'pool' | 'ses' | 'bnd' | 'mer' | 'mkey' | 'mnet' | 'auth' | 'evt' | 'led' | 'txn' | 'aud' | 'tok' | 'whk' | 'exc' | 'exp' | 'acq' | 'anom' | 'dac' | 'prr' | 'dnat';

export function newId(kind: IdKind, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += alphabet[bytes[i]! & 31]!;
  return `${kind}_${time}${rand}`;
}
