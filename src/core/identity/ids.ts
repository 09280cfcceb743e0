import { randomFillSync } from 'node:crypto';

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
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let rand = '';
  for (let i = offset; i < offset + 16; i++) rand += alphabet[pool[i]! & 31]!;
  offset += 16;
  return `${kind}_${time}${rand}`;
}

// Random bytes drawn 4 KiB at a time: a RADIUS request makes two or three ids, and a call
// into the CSPRNG per id cost more than the rest of newId. Each byte is used once.
const pool = Buffer.alloc(4096);
let offset = pool.length;
