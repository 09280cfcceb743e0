import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import { Md5 } from './md5.ts';
import { secretOctets, type SharedSecret } from './shared-secret.ts';

/** Used to its digest before anything else can run, so one serves every packet. */
const hash = new Md5();

/**
 * RFC 2865 §3: "ResponseAuth = MD5(Code+ID+Length+RequestAuth+Attributes+Secret)", over
 * `response` as encoded, whatever its Authenticator field holds now. RFC 2866 §3 uses the
 * same for Accounting-Response.
 */
export function responseAuthenticator(response: Buffer, requestAuthenticator: Buffer, secret: SharedSecret): Buffer {
  if (requestAuthenticator.length !== AUTHENTICATOR_LENGTH) throw new RangeError('a Request Authenticator is 16 octets (RFC 2865 §3)');
  return hash.reset().update(response, 0, AUTHENTICATOR_OFFSET).update(requestAuthenticator).update(response, HEADER_LENGTH).update(secretOctets(secret)).digest();
}

/**
 * Checks a response's authenticator as a NAS does, against the request it answers: for
 * test clients and benchmarks. A NAS must also match the Identifier (RFC 2865 §3).
 */
export function verifyResponseAuthenticator(response: RadiusPacket, request: RadiusPacket, secret: SharedSecret): boolean {
  return constantTimeEqual(response.authenticator, responseAuthenticator(response.raw, request.authenticator, secret));
}
