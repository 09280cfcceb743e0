import { AUTHENTICATOR_LENGTH } from '../wire/packet-format.ts';
import { Md5 } from './md5.ts';
import { secretOctets, type SharedSecret } from './shared-secret.ts';

const BLOCK = 16;
/** Used to its digest before anything else can run, so one serves every packet. */
const hash = new Md5();
// RFC 2865 §5.2: "Length At least 18 and no larger than 130", so 16 to 128 octets of String.
const MIN_HIDDEN_LENGTH = 16;
const MAX_HIDDEN_LENGTH = 128;

export type UserPasswordResult =
  | { readonly ok: true; readonly password: string }
  | { readonly ok: false; readonly cause: 'length-invalid' };

/**
 * Hides a password as a NAS does (RFC 2865 §5.2), for test clients and benchmarks:
 * "b1 = MD5(S + RA)  c(1) = p1 xor b1   b2 = MD5(S + c(1))  c(2) = p2 xor b2 …",
 * after padding the password with NULs to a multiple of 16 octets.
 */
export function hideUserPassword(password: string | Buffer, secret: SharedSecret, requestAuthenticator: Buffer): Buffer {
  const plain = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (plain.length > MAX_HIDDEN_LENGTH) throw new RangeError(`a User-Password carries at most ${MAX_HIDDEN_LENGTH} octets (RFC 2865 §5.2)`);
  requireAuthenticator(requestAuthenticator);
  const hidden = Buffer.alloc(Math.max(BLOCK, Math.ceil(plain.length / BLOCK) * BLOCK));
  plain.copy(hidden);
  const key = secretOctets(secret);
  const b = new Uint8Array(BLOCK);
  for (let at = 0; at < hidden.length; at += BLOCK) {
    keystream(key, requestAuthenticator, hidden, at, b);
    for (let i = 0; i < BLOCK; i++) hidden[at + i]! ^= b[i]!;
  }
  b.fill(0);
  return hidden;
}

/**
 * Recovers the password from a User-Password value with the client's secret and the
 * request's Request Authenticator (RFC 2865 §5.2), dropping the NUL padding. A wrong
 * secret yields a wrong password, not an error: the caller's comparison catches it.
 * Invalid UTF-8 becomes U+FFFD, which no stored password of valid text can match.
 */
export function recoverUserPassword(hidden: Buffer, secret: SharedSecret, requestAuthenticator: Buffer): UserPasswordResult {
  if (hidden.length < MIN_HIDDEN_LENGTH || hidden.length > MAX_HIDDEN_LENGTH || hidden.length % BLOCK !== 0) {
    return { ok: false, cause: 'length-invalid' };
  }
  requireAuthenticator(requestAuthenticator);
  const plain = Buffer.allocUnsafe(hidden.length);
  const key = secretOctets(secret);
  const b = new Uint8Array(BLOCK);
  for (let at = 0; at < hidden.length; at += BLOCK) {
    keystream(key, requestAuthenticator, hidden, at, b);
    for (let i = 0; i < BLOCK; i++) plain[at + i] = hidden[at + i]! ^ b[i]!;
  }
  b.fill(0);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  const password = plain.toString('utf8', 0, end);
  plain.fill(0);
  return { ok: true, password };
}

/**
 * RFC 2865 §5.2's b(i) into `out`: MD5(S + RA) for the first block, MD5(S + c(i-1)) for
 * the block at `at` after it, where `hidden` holds the hidden blocks c.
 */
function keystream(key: Buffer, requestAuthenticator: Buffer, hidden: Uint8Array, at: number, out: Uint8Array): void {
  hash.reset().update(key);
  if (at === 0) hash.update(requestAuthenticator);
  else hash.update(hidden, at - BLOCK, at);
  hash.digestInto(out, 0);
}

function requireAuthenticator(requestAuthenticator: Buffer): void {
  if (requestAuthenticator.length !== AUTHENTICATOR_LENGTH) throw new RangeError('a Request Authenticator is 16 octets (RFC 2865 §3)');
}
