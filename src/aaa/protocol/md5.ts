import { secretOctets, type SharedSecret } from './shared-secret.ts';

/**
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), for the hashes RADIUS mandates: the Request and
 * Response Authenticators, User-Password's hiding and Message-Authenticator.
 *
 * Why not node:crypto: a RADIUS request costs two to four of these over a hundred octets
 * or so, and `createHash`/`createHmac` cost 2.5–3 µs each on this project's machine (an
 * object, and a call into C++ for every `update`), about 15 % of the event loop under
 * Access-Requests; here an MD5 costs about 0.7 µs and an HMAC-MD5 1.1, with no allocation
 * but the digest, and HMAC-MD5 under a NAS's secret starts from the two padded-key states
 * computed once for that secret. FreeRADIUS ships its own as well (src/lib/md5.c,
 * src/lib/hmacmd5.c). The test suite checks both against node:crypto over random inputs.
 */

/** RFC 1321 §3.4: "T[i] … is equal to the integer part of 4294967296 times abs(sin(i))", i from 1. */
const T = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
/** RFC 1321 §3.3: words A, B, C, D before the first block. */
const INITIAL = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476);
const BLOCK = 64;
const MD5_LENGTH = 16;

/** The message's sixteen words, little-endian (RFC 1321 §2), of the block being processed. */
const X = new Int32Array(16);
/** RFC 1321 §3.4: the word each step of a round takes ([abcd k s i]'s k), rounds 2 to 4. */
const WORD = Int32Array.from({ length: 64 }, (_, i) => (i < 16 ? i : i < 32 ? 5 * i + 1 : i < 48 ? 3 * i + 5 : 7 * i) & 15);
/** The rotations of a round's four steps ([abcd k s i]'s s), repeating. */
const SHIFT = Int32Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);

/**
 * RFC 1321 §3.4: processes the 64 octets of `bytes` from `at` into `state`. Each step is
 * "a = b + ((a + F(b,c,d) + X[k] + T[i]) <<< s)", with the words renamed after it so that
 * the next step's a, b, c, d are this one's d, a', b, c; a round is sixteen steps of its
 * own F, G, H or I. (Written as four loops: 64 calls of a step function exceed what V8
 * inlines into one function, and the calls cost more than the hashing.)
 */
function compress(state: Int32Array, bytes: Uint8Array, at: number): void {
  const x = X;
  for (let k = 0; k < 16; k++, at += 4) x[k] = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let n: number;
  let s: number;
  // Round 1: F(X,Y,Z) = XY v not(X) Z.
  for (let i = 0; i < 16; i++) {
    n = (a + ((b & c) | (~b & d)) + x[i]! + T[i]!) | 0;
    s = SHIFT[i & 3]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((n << s) | (n >>> (32 - s)))) | 0;
  }
  // Round 2: G(X,Y,Z) = XZ v Y not(Z).
  for (let i = 16; i < 32; i++) {
    n = (a + ((b & d) | (c & ~d)) + x[WORD[i]!]! + T[i]!) | 0;
    s = SHIFT[4 + (i & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((n << s) | (n >>> (32 - s)))) | 0;
  }
  // Round 3: H(X,Y,Z) = X xor Y xor Z.
  for (let i = 32; i < 48; i++) {
    n = (a + (b ^ c ^ d) + x[WORD[i]!]! + T[i]!) | 0;
    s = SHIFT[8 + (i & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((n << s) | (n >>> (32 - s)))) | 0;
  }
  // Round 4: I(X,Y,Z) = Y xor (X v not(Z)).
  for (let i = 48; i < 64; i++) {
    n = (a + (c ^ (b | ~d)) + x[WORD[i]!]! + T[i]!) | 0;
    s = SHIFT[12 + (i & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((n << s) | (n >>> (32 - s)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/**
 * An MD5 computation fed in pieces, which spares concatenating a packet's parts. Meant to
 * be kept and reused (`reset`, or `resume` from a saved state) by code that runs it to its
 * `digest` synchronously.
 *
 * @example
 * const hash = new Md5();
 * hash.reset().update(header).update(secret).digest(); // a Buffer of 16 octets
 */
export class Md5 {
  private readonly state = Int32Array.from(INITIAL);
  private readonly block = new Uint8Array(BLOCK);
  /** Octets of `block` waiting for the rest of it. */
  private filled = 0;
  /** Octets fed since the start; RFC 1321 §3.2 appends it, in bits, modulo 2^64. */
  private length = 0;

  reset(): this {
    this.state.set(INITIAL);
    this.filled = 0;
    this.length = 0;
    return this;
  }

  /** Continues from where `saved` stands, as if fed what it was fed. */
  resume(saved: Md5): this {
    const state = this.state;
    state[0] = saved.state[0]!;
    state[1] = saved.state[1]!;
    state[2] = saved.state[2]!;
    state[3] = saved.state[3]!;
    for (let i = 0; i < saved.filled; i++) this.block[i] = saved.block[i]!;
    this.filled = saved.filled;
    this.length = saved.length;
    return this;
  }

  /** Feeds `bytes` from `start` up to `end`, which must lie within it (a RangeError otherwise). */
  update(bytes: Uint8Array, start = 0, end = bytes.length): this {
    // Unlike subarray, no clamping: a window past the end would hash octets that are not there.
    if (!(start >= 0 && start <= end && end <= bytes.length)) throw new RangeError(`MD5 input [${start}, ${end}) is not within ${bytes.length} octets`);
    this.length += end - start;
    let at = start;
    // Pieces here are short: copied octet by octet, which beats making a subarray to `set`.
    const block = this.block;
    let filled = this.filled;
    if (filled > 0) {
      while (filled < BLOCK && at < end) block[filled++] = bytes[at++]!;
      if (filled < BLOCK) {
        this.filled = filled;
        return this;
      }
      compress(this.state, block, 0);
      filled = 0;
    }
    for (; end - at >= BLOCK; at += BLOCK) compress(this.state, bytes, at);
    while (at < end) block[filled++] = bytes[at++]!;
    this.filled = filled;
    return this;
  }

  /** Feeds `count` zero octets (RADIUS hashes zeros in place of an authenticator). */
  zeros(count: number): this {
    if (!(count >= 0)) throw new RangeError(`cannot feed ${count} zero octets`);
    this.length += count;
    while (count > 0) {
      const taken = Math.min(BLOCK - this.filled, count);
      this.block.fill(0, this.filled, this.filled + taken);
      this.filled += taken;
      count -= taken;
      if (this.filled === BLOCK) {
        compress(this.state, this.block, 0);
        this.filled = 0;
      }
    }
    return this;
  }

  /** The 16 octets of the digest; call `reset` or `resume` before using it again. */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(MD5_LENGTH);
    this.digestInto(out, 0);
    return out;
  }

  /** RFC 1321 §3.1–3.5: pads, appends the length and writes the digest's 16 octets to `out` at `at`. */
  digestInto(out: Uint8Array, at: number): void {
    const block = this.block;
    const bits = this.length * 8;
    block[this.filled++] = 0x80;
    if (this.filled > BLOCK - 8) {
      block.fill(0, this.filled);
      compress(this.state, block, 0);
      this.filled = 0;
    }
    block.fill(0, this.filled, BLOCK - 8);
    writeWord(block, BLOCK - 8, bits % 2 ** 32);
    writeWord(block, BLOCK - 4, Math.floor(bits / 2 ** 32) % 2 ** 32);
    compress(this.state, block, 0);
    for (let k = 0; k < 4; k++) writeWord(out, at + 4 * k, this.state[k]!);
    // The last block may hold the end of a secret (RADIUS hashes it last): not left behind.
    block.fill(0);
    X.fill(0);
  }
}

function writeWord(bytes: Uint8Array, at: number, word: number): void {
  bytes[at] = word & 0xff;
  bytes[at + 1] = (word >>> 8) & 0xff;
  bytes[at + 2] = (word >>> 16) & 0xff;
  bytes[at + 3] = (word >>> 24) & 0xff;
}

/**
 * HMAC-MD5 under one key (RFC 2104): the hashes of the key's inner and outer pads are made
 * once, so that each message costs its own blocks and one more.
 */
export class HmacMd5Key {
  private readonly inner = new Md5();
  private readonly outer = new Md5();
  private readonly innerDigest = new Uint8Array(MD5_LENGTH);
  /** The key as given, to tell whether a Buffer it was made from still holds it. */
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    this.key = Uint8Array.from(key);
    // RFC 2104 §2: a key longer than B (64) octets is hashed first, a shorter one padded with zeros.
    const padded = new Uint8Array(BLOCK);
    padded.set(key.length > BLOCK ? new Md5().update(key).digest() : key);
    const pad = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) pad[i] = padded[i]! ^ 0x36;
    this.inner.update(pad);
    for (let i = 0; i < BLOCK; i++) pad[i] = padded[i]! ^ 0x5c;
    this.outer.update(pad);
    padded.fill(0);
    pad.fill(0);
  }

  /** Whether `key` holds the octets this key was made from. */
  isFor(key: Uint8Array): boolean {
    const own = this.key;
    if (own.length !== key.length) return false;
    for (let i = 0; i < own.length; i++) if (own[i] !== key[i]) return false;
    return true;
  }

  /** Sets `hash` to start a message under this key; feed it the message, then `finishInto`. */
  start(hash: Md5): Md5 {
    return hash.resume(this.inner);
  }

  /** Writes the HMAC of what `hash` was fed since `start` to `out` at `at`; `hash` is spent. */
  finishInto(hash: Md5, out: Uint8Array, at: number): void {
    hash.digestInto(this.innerDigest, 0);
    hash.resume(this.outer).update(this.innerDigest).digestInto(out, at);
  }
}

const keys = new WeakMap<Buffer, HmacMd5Key>();

/**
 * The HMAC-MD5 key of a shared secret. A server's secrets are Buffers made once per NAS,
 * and their padded-key hashes are kept while the Buffer lives, made again should its
 * octets change; a string is converted and hashed on each call.
 */
export function hmacMd5Key(secret: SharedSecret): HmacMd5Key {
  if (typeof secret === 'string') return new HmacMd5Key(secretOctets(secret));
  let key = keys.get(secret);
  if (!key?.isFor(secret)) {
    key = new HmacMd5Key(secret);
    keys.set(secret, key);
  }
  return key;
}
