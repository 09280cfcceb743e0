import { attributeDictionary } from '../wire/attribute-dictionary.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import { Md5 } from './md5.ts';

const CHAP_PASSWORD = attributeDictionary['CHAP-Password'].type;
const CHAP_CHALLENGE = attributeDictionary['CHAP-Challenge'].type;
// RFC 2865 §5.3: "Length 19": CHAP Ident(1) and String(16), the CHAP response.
const CHAP_PASSWORD_LENGTH = 17;
const RESPONSE_LENGTH = 16;

/** 'absent' and 'malformed' are for the caller to log apart from a wrong password; all but 'valid' mean Access-Reject. */
export type ChapCheck = 'absent' | 'malformed' | 'valid' | 'invalid';

/**
 * RFC 1994 §4.1: the Response Value is the hash "over a stream of octets consisting of the
 * Identifier, followed by (concatenated with) the 'secret', followed by (concatenated
 * with) the Challenge Value"; MD5, as RFC 2865 §2.2 has RADIUS CHAP use.
 */
export function chapResponse(ident: number, password: string | Buffer, challenge: Buffer): Buffer {
  return new Md5().update(Uint8Array.of(ident)).update(typeof password === 'string' ? Buffer.from(password, 'utf8') : password).update(challenge).digest();
}

/**
 * RFC 2865 §5.3: "The CHAP challenge value is found in the CHAP-Challenge Attribute (60)
 * if present in the packet, otherwise in the Request Authenticator field."
 */
export function chapChallenge(request: RadiusPacket): Buffer {
  return request.octets(CHAP_CHALLENGE) ?? request.authenticator;
}

/**
 * Checks an Access-Request's CHAP-Password against the subscriber's cleartext password
 * (RFC 2865 §5.3, RFC 1994 §4.1). The comparison runs in constant time.
 *
 * @example
 * if (verifyChapPassword(request, storedCleartext) !== 'valid') return reject();
 */
export function verifyChapPassword(request: RadiusPacket, password: string | Buffer): ChapCheck {
  const count = request.count(CHAP_PASSWORD);
  if (count === 0) return 'absent';
  const value = request.octets(CHAP_PASSWORD)!;
  if (count > 1 || value.length !== CHAP_PASSWORD_LENGTH) return 'malformed';
  const expected = chapResponse(value[0]!, password, chapChallenge(request));
  return constantTimeEqual(value.subarray(1, 1 + RESPONSE_LENGTH), expected) ? 'valid' : 'invalid';
}

/** Whether a request's CHAP-Password cannot be checked at all (not exactly one, or not 17 octets), whatever the password. */
export function chapPasswordMalformed(request: RadiusPacket): boolean {
  return request.count(CHAP_PASSWORD) > 1 || request.octets(CHAP_PASSWORD)?.length !== CHAP_PASSWORD_LENGTH;
}

/** A CHAP-Password value as a NAS builds it, for test clients and benchmarks. */
export function encodeChapPassword(ident: number, password: string | Buffer, challenge: Buffer): Buffer {
  return Buffer.concat([Buffer.of(ident), chapResponse(ident, password, challenge)]);
}
