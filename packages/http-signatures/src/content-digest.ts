import { createHash, timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { MAX_FIELD_LENGTH } from './field-length-limit.ts';
import { parseDictionary } from './structured-fields/parse-dictionary.ts';
import { serializeDictionary } from './structured-fields/serialize-structured-field.ts';
import { item } from './structured-fields/structured-field-value.ts';

/**
 * The hashing algorithms accepted in Content-Digest, by their RFC 9530 key, with the name
 * node:crypto knows them by. RFC 9530 §5 and its registry (§7.2) mark only sha-256 and
 * sha-512 for use where an adversary may be present; md5, sha, unixsum, unixcksum, adler
 * and crc32c are deprecated and ignored here as unsupported.
 */
export const contentDigestAlgorithms = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const;

export type ContentDigestAlgorithm = keyof typeof contentDigestAlgorithms;

/** Why a Content-Digest field was refused. Stable strings. */
export const contentDigestFailures = [
  /** No Content-Digest field, or an empty one. */
  'content-digest-missing',
  /** Not an RFC 8941 Dictionary of Byte Sequences, or longer than 8 KiB. */
  'content-digest-malformed',
  /** No member uses sha-256 or sha-512. */
  'content-digest-unsupported',
  /** A sha-256 or sha-512 member does not match the content. */
  'content-digest-mismatch',
] as const;

export type ContentDigestFailure = (typeof contentDigestFailures)[number];

export type ContentDigestResult = { readonly ok: true } | { readonly ok: false; readonly reason: ContentDigestFailure };

/**
 * The Content-Digest field value for `body` (RFC 9530 §2): a Dictionary with one member,
 * keyed by the algorithm, whose value is the digest as a Byte Sequence.
 *
 * @example
 * contentDigest(new TextEncoder().encode('{"hello": "world"}'));
 * // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 */
export function contentDigest(body: Uint8Array, alg: ContentDigestAlgorithm = 'sha-256'): string {
  const digest = createHash(contentDigestAlgorithms[alg]).update(body).digest();
  return serializeDictionary(new Map([[alg, item({ type: 'byte-sequence', value: digest })]]));
}

/**
 * Checks a Content-Digest field value against the content. At least one member must use a
 * supported algorithm and every supported member must match; members with other
 * algorithms are ignored (RFC 9530 §2: a recipient "MAY ignore any or all digests").
 * Never throws.
 *
 * @example
 * const result = verifyContentDigest(request.headers['content-digest'], rawBody);
 * if (!result.ok) reply.code(400).send({ reason: result.reason });
 */
export function verifyContentDigest(headerValue: string | undefined, body: Uint8Array): ContentDigestResult {
  if (headerValue === undefined || headerValue.trim() === '') return refuse('content-digest-missing');
  const parsed = parseDictionary(headerValue, { maxLength: MAX_FIELD_LENGTH });
  if (!parsed.ok) return refuse('content-digest-malformed');
  let supported = 0;
  for (const [key, member] of parsed.value) {
    // RFC 9530 §2: member values are Byte Sequences holding the digest.
    if (member.kind !== 'item' || member.value.type !== 'byte-sequence') return refuse('content-digest-malformed');
    if (!Object.hasOwn(contentDigestAlgorithms, key)) continue;
    supported++;
    const expected = createHash(contentDigestAlgorithms[key as ContentDigestAlgorithm]).update(body).digest();
    const received = Buffer.from(member.value.value);
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) return refuse('content-digest-mismatch');
  }
  return supported === 0 ? refuse('content-digest-unsupported') : { ok: true };
}

const refusals = Object.fromEntries(contentDigestFailures.map((reason) => [reason, Object.freeze({ ok: false, reason })])) as Record<
  ContentDigestFailure,
  ContentDigestResult
>;

function refuse(reason: ContentDigestFailure): ContentDigestResult {
  return refusals[reason];
}
