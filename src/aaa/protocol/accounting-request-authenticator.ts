import { createHash } from 'node:crypto';
import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import type { SharedSecret } from './shared-secret.ts';

const ZERO_AUTHENTICATOR = Buffer.alloc(AUTHENTICATOR_LENGTH);

/**
 * RFC 2866 §3: the Request Authenticator of an Accounting-Request is an MD5 hash over
 * "Code + Identifier + Length + 16 zero octets + request attributes + shared secret";
 * computed over `request` as encoded, whatever its Authenticator field holds now.
 * RFC 5176 §2.3 has Disconnect-Request and CoA-Request use the same.
 */
export function accountingRequestAuthenticator(request: Buffer, secret: SharedSecret): Buffer {
  return createHash('md5')
    .update(request.subarray(0, AUTHENTICATOR_OFFSET))
    .update(ZERO_AUTHENTICATOR)
    .update(request.subarray(HEADER_LENGTH))
    .update(secret)
    .digest();
}

/**
 * Checks an Accounting-Request's Request Authenticator (RFC 2866 §3), or a Disconnect- or
 * CoA-Request's (RFC 5176 §2.3). False means a wrong secret or an altered packet;
 * FreeRADIUS drops such requests without an answer.
 */
export function verifyAccountingRequestAuthenticator(request: RadiusPacket, secret: SharedSecret): boolean {
  return constantTimeEqual(request.authenticator, accountingRequestAuthenticator(request.raw, secret));
}
