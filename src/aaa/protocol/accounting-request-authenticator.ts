import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import { Md5 } from './md5.ts';
import { secretOctets, type SharedSecret } from './shared-secret.ts';

/** Used to its digest before anything else can run, so one serves every packet. */
const hash = new Md5();

/**
 * RFC 2866 §3: the Request Authenticator of an Accounting-Request is an MD5 hash over
 * "Code + Identifier + Length + 16 zero octets + request attributes + shared secret";
 * computed over `request` as encoded, whatever its Authenticator field holds now.
 * RFC 5176 §2.3 has Disconnect-Request and CoA-Request use the same.
 */
export function accountingRequestAuthenticator(request: Buffer, secret: SharedSecret): Buffer {
  return hash.reset().update(request, 0, AUTHENTICATOR_OFFSET).zeros(AUTHENTICATOR_LENGTH).update(request, HEADER_LENGTH).update(secretOctets(secret)).digest();
}

/**
 * Checks an Accounting-Request's Request Authenticator (RFC 2866 §3), or a Disconnect- or
 * CoA-Request's (RFC 5176 §2.3). False means a wrong secret or an altered packet;
 * FreeRADIUS drops such requests without an answer.
 */
export function verifyAccountingRequestAuthenticator(request: RadiusPacket, secret: SharedSecret): boolean {
  return constantTimeEqual(request.authenticator, accountingRequestAuthenticator(request.raw, secret));
}
